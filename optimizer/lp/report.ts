import type { BindingConstraint, UnmetEnergy } from '../model.ts';
import type { Problem } from '../prepare.ts';
import { sumUnder } from '../rounding.ts';
import { sharingPenalty } from '../sharing.ts';
import type { AreaRange } from '../topology.ts';
import { CYCLE_COST, EXPORT_SHORTFALL_PENALTY, exportShortfalls } from '../v2g.ts';

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
    // A V2G session wanting no energy is still short when it leaves with less than it arrived with.
    if (!s || (s.energyKwh <= 0 && !s.v2g)) return;
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
 * Node limits that the plan reaches (within 1e-6 relative), in solved areas: import limits where at least
 * one session that still wants energy is plugged in below (they explain unmet energy; a limit of 0
 * included, though it leaves no variable in the LP), export limits where a V2G session that may
 * discharge is plugged in below (they cap arbitrage and required export). Both gross. Taken before
 * flooring to 0.001 kW, which would otherwise hide the constraint that decided the outcome.
 */
export function findBinding(p: Problem, plan: Float64Array, solved: AreaRange[]): BindingConstraint[] {
  const { count: T, tree, lim, exportLim } = p;
  if (solved.length === 0) return [];
  const present = new Float64Array(plan.length);
  const v2g = new Float64Array(plan.length);
  let anyV2g = false;
  p.session.forEach((s, e) => {
    if (!s || s.maxKw <= 0) return;
    for (let t = s.t0; t < s.t1; t++) {
      if (!(s.frac[t]! > 0)) continue;
      if (s.energyKwh > 0) present[e * T + t] = 1;
      if (s.v2g) {
        v2g[e * T + t] = 1;
        anyV2g = true;
      }
    }
  });
  const used = new Float64Array(tree.nodes.length);
  const vars = new Float64Array(tree.nodes.length);
  const hits: { pos: number; t: number; kind: 'import' | 'export' }[] = [];
  const reached = (x: number, limit: number): boolean => x >= limit - 1e-6 * Math.max(1, limit);
  for (let t = 0; t < T; t++) {
    sumUnder(p, plan, t, used, 'import');
    sumUnder(p, present, t, vars);
    for (const area of solved) {
      for (let q = area.lo; q < area.hi; q++) {
        const n = tree.preorder[q]!;
        const limit = lim[n * T + t]!;
        if (limit !== Number.POSITIVE_INFINITY && vars[n] !== 0 && reached(used[n]!, limit)) hits.push({ pos: q, t, kind: 'import' });
      }
    }
  }
  // Export limits: only where discharge is possible; the EVSEs under a node are one index range.
  for (const area of anyV2g ? solved : []) {
    for (let q = area.lo; q < area.hi; q++) {
      const n = tree.preorder[q]!;
      for (let t = 0; t < T; t++) {
        const xl = exportLim[n * T + t]!;
        if (xl === Number.POSITIVE_INFINITY) continue;
        let out = 0;
        let dis = 0;
        for (let e = tree.evLo[n]!; e < tree.evHi[n]!; e++) {
          const v = plan[e * T + t]!;
          if (v < 0) out -= v;
          dis += v2g[e * T + t]!;
        }
        if (dis > 0 && reached(out, xl)) hits.push({ pos: q, t, kind: 'export' });
      }
    }
  }
  hits.sort((a, b) => a.pos - b.pos || a.t - b.t || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  return hits.map((h) => ({ nodeId: tree.nodes[tree.preorder[h.pos]!]!.id, interval: h.t, kind: h.kind }));
}

/**
 * The LP's objective (sharing term included) evaluated on the returned setpoints (after rounding), so it
 * describes what is sent. A negative setpoint is discharge: its energy counts negative (net energy, the
 * same interval value), plus the wear cost; each required export the setpoints leave missing costs
 * EXPORT_SHORTFALL_PENALTY per kWh. The sharing term sees net energy (sharing.ts), the churn term charging
 * only, as in the LP.
 */
export function planObjective(p: Problem, kw: Float64Array): number {
  let z = 0;
  const T = p.count;
  let discharges = false;
  p.session.forEach((s, e) => {
    if (!s) return;
    let kwh = 0;
    for (let t = s.t0; t < s.t1; t++) {
      const energy = kw[e * T + t]! * p.dtH * s.frac[t]!;
      kwh += energy;
      z -= p.intervalValue[t]! * energy;
      if (energy < 0) {
        z -= CYCLE_COST * energy;
        discharges = true;
      }
    }
    z += s.weight * Math.max(0, s.energyKwh - kwh);
  });
  exportShortfalls(p, kw, (_n, _t, short) => {
    if (short > 0) z += EXPORT_SHORTFALL_PENALTY * p.dtH * short;
  });
  const charging = discharges ? kw.map((x) => Math.max(0, x)) : kw;
  return z + sharingPenalty(p, kw) + churnPenalty(p, charging);
}

/**
 * What the objective holds whatever the solver does, for the parts no LP was built for: a session with no
 * variable (`inLp[e]` = 0) misses its whole energy, and the required exports of an area with no session in
 * an LP are missed in full. Added to the solvers' optima to bound the plan objective.
 */
export function fixedObjective(p: Problem, inLp: Uint8Array): number {
  let fixed = 0;
  p.session.forEach((s, e) => {
    if (s && !inLp[e]) fixed += s.weight * s.energyKwh;
  });
  const T = p.count;
  for (const area of p.minExport.length > 0 ? p.tree.roots : []) {
    let built = false;
    for (let e = area.evLo; e < area.evHi && !built; e++) if (inLp[e]) built = true;
    if (built) continue;
    for (let q = area.lo; q < area.hi; q++) {
      const n = p.tree.preorder[q]!;
      for (let t = 0; t < T; t++) fixed += EXPORT_SHORTFALL_PENALTY * p.dtH * p.minExport[n * T + t]!;
    }
  }
  return fixed;
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
