import type { BindingConstraint, UnmetEnergy } from '../model.ts';
import type { Problem } from '../prepare.ts';
import { sumUnder } from '../rounding.ts';
import type { AreaRange } from '../topology.ts';
import { EARLY_REWARD } from './build.ts';

function delivered(p: Problem, values: Float64Array, e: number): number {
  const s = p.session[e]!;
  let kwh = 0;
  for (let t = s.t0; t < s.t1; t++) kwh += values[e * p.count + t]! * p.dtH * s.frac[t]!;
  return kwh;
}

/**
 * Sessions that were not scheduled at all (unknown EVSE, or another session on the same EVSE) are unmet in
 * full. A scheduled session is unmet when the LP left slack, or when rounding (min power, 0.001 kW floors) took away more
 * than flooring alone can explain; the reported amount is what the returned setpoints leave missing.
 */
export function findUnmet(p: Problem, raw: Float64Array, kw: Float64Array): UnmetEnergy[] {
  const out: UnmetEnergy[] = [];
  p.session.forEach((s, e) => {
    if (!s || s.energyKwh <= 0) return;
    const lpShort = s.energyKwh - delivered(p, raw, e);
    const short = s.energyKwh - delivered(p, kw, e);
    let present = 0;
    for (let t = s.t0; t < s.t1; t++) present += s.frac[t]!;
    const flooring = 0.001 * p.dtH * present;
    if (lpShort > 1e-6 || short > 1e-6 + flooring) {
      out.push({ sessionId: s.demand.sessionId, evseId: s.demand.evseId, kwh: Math.round(short * 1e6) / 1e6 });
    }
  });
  for (const d of p.ignored) {
    if (Number.isFinite(d.energyKwh) && d.energyKwh > 0) out.push({ sessionId: d.sessionId, evseId: d.evseId, kwh: d.energyKwh });
  }
  return out;
}

/**
 * Node limits that the LP solution reaches (within 1e-6 relative), in solved areas, where at least one
 * session could draw power: these explain unmet energy. Taken from the solver's values, before rounding,
 * because floors of up to 0.001 kW per EVSE would otherwise hide a constraint that decided the outcome.
 */
export function findBinding(p: Problem, raw: Float64Array, colOf: Int32Array, solved: AreaRange[]): BindingConstraint[] {
  const { count: T, tree, lim } = p;
  if (solved.length === 0) return [];
  const present = new Float64Array(colOf.length);
  for (let k = 0; k < colOf.length; k++) if (colOf[k]! >= 0) present[k] = 1;
  const used = new Float64Array(tree.nodes.length);
  const vars = new Float64Array(tree.nodes.length);
  const hits: { pos: number; t: number }[] = [];
  for (let t = 0; t < T; t++) {
    sumUnder(p, raw, t, used);
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

/** The LP's objective evaluated on the returned setpoints (after rounding), so it describes what is sent. */
export function planObjective(p: Problem, kw: Float64Array): number {
  let z = 0;
  const T = p.count;
  p.session.forEach((s, e) => {
    if (!s) return;
    let kwh = 0;
    for (let t = s.t0; t < s.t1; t++) {
      const energy = kw[e * T + t]! * p.dtH * s.frac[t]!;
      kwh += energy;
      z -= EARLY_REWARD * energy * (1 - t / T);
    }
    z += s.weight * Math.max(0, s.energyKwh - kwh);
  });
  return z;
}
