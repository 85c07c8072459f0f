import type { BindingConstraint, UnmetEnergy } from '../model.ts';
import type { Problem } from '../prepare.ts';
import { sumUnder } from '../rounding.ts';
import { sharingPenalty } from '../sharing.ts';
import type { AreaRange } from '../topology.ts';

function delivered(p: Problem, values: Float64Array, e: number): number {
  const s = p.session[e]!;
  let kwh = 0;
  for (let t = s.t0; t < s.t1; t++) kwh += values[e * p.count + t]! * p.dtH * s.frac[t]!;
  return kwh;
}

/**
 * Sessions that were not scheduled at all (unknown EVSE, or another session on the same EVSE) are unmet in
 * full. A scheduled session is unmet when its plan (solver values after the min-power drop and top-up)
 * falls short, or when the setpoints fall shorter than 0.001 kW floors alone explain; the reported amount
 * is what the returned setpoints leave missing.
 */
export function findUnmet(p: Problem, plan: Float64Array, kw: Float64Array): UnmetEnergy[] {
  const out: UnmetEnergy[] = [];
  p.session.forEach((s, e) => {
    if (!s || s.energyKwh <= 0) return;
    const planShort = s.energyKwh - delivered(p, plan, e);
    const short = s.energyKwh - delivered(p, kw, e);
    let present = 0;
    for (let t = s.t0; t < s.t1; t++) present += s.frac[t]!;
    const flooring = 0.001 * p.dtH * present;
    if (planShort > 1e-6 || short > 1e-6 + flooring) {
      out.push({ sessionId: s.demand.sessionId, evseId: s.demand.evseId, kwh: Math.round(short * 1e6) / 1e6 });
    }
  });
  for (const d of p.ignored) {
    if (Number.isFinite(d.energyKwh) && d.energyKwh > 0) out.push({ sessionId: d.sessionId, evseId: d.evseId, kwh: d.energyKwh });
  }
  return out;
}

/**
 * Node limits that the plan reaches (within 1e-6 relative), in solved areas, where at least one session
 * that still wants energy is plugged in below: these explain unmet energy (a limit of 0 included, though
 * it leaves no variable in the LP). Taken before flooring to 0.001 kW, which would otherwise hide the
 * constraint that decided the outcome.
 */
export function findBinding(p: Problem, plan: Float64Array, solved: AreaRange[]): BindingConstraint[] {
  const { count: T, tree, lim } = p;
  if (solved.length === 0) return [];
  const present = new Float64Array(plan.length);
  p.session.forEach((s, e) => {
    if (!s || s.energyKwh <= 0 || s.maxKw <= 0) return;
    for (let t = s.t0; t < s.t1; t++) if (s.frac[t]! > 0) present[e * T + t] = 1;
  });
  const used = new Float64Array(tree.nodes.length);
  const vars = new Float64Array(tree.nodes.length);
  const hits: { pos: number; t: number }[] = [];
  for (let t = 0; t < T; t++) {
    sumUnder(p, plan, t, used);
    sumUnder(p, present, t, vars);
    for (const area of solved) {
      for (let q = area.lo; q < area.hi; q++) {
        const n = tree.preorder[q]!;
        const limit = lim[n * T + t]!;
        if (limit === Number.POSITIVE_INFINITY || vars[n] === 0) continue;
        if (used[n]! >= limit - 1e-6 * Math.max(1, limit)) hits.push({ pos: q, t });
      }
    }
  }
  hits.sort((a, b) => a.pos - b.pos || a.t - b.t);
  return hits.map((h) => ({ nodeId: tree.nodes[tree.preorder[h.pos]!]!.id, interval: h.t, kind: 'import' }));
}

/** The LP's objective (sharing term included) evaluated on the returned setpoints (after rounding), so it describes what is sent. */
export function planObjective(p: Problem, kw: Float64Array): number {
  let z = 0;
  const T = p.count;
  p.session.forEach((s, e) => {
    if (!s) return;
    let kwh = 0;
    for (let t = s.t0; t < s.t1; t++) {
      const energy = kw[e * T + t]! * p.dtH * s.frac[t]!;
      kwh += energy;
      z -= p.intervalValue[t]! * energy;
    }
    z += s.weight * Math.max(0, s.energyKwh - kwh);
  });
  return z + sharingPenalty(p, kw) + churnPenalty(p, kw);
}

/** The churn term: penalty · Σ |kw[t + 1] − kw[t]| over consecutive intervals of each session's stay. */
export function churnPenalty(p: Problem, kw: Float64Array): number {
  if (!(p.churn > 0)) return 0;
  const T = p.count;
  let change = 0;
  p.session.forEach((s, e) => {
    if (!s) return;
    for (let t = s.t0; t + 1 < s.t1; t++) change += Math.abs(kw[e * T + t + 1]! - kw[e * T + t]!);
  });
  return p.churn * change;
}
