import type { Problem } from '../prepare.ts';
import type { AreaRange } from '../topology.ts';

/**
 * Reward per kWh for charging in the first interval, falling linearly towards 0 at the horizon end.
 * It only breaks ties (flat prices leave many equal optima, and the simplex then wanders); it must stay far
 * below the unmet-energy penalty (1000/kWh) so it never trades a delivered kWh for an earlier one.
 */
export const EARLY_REWARD = 1;

/**
 * Most the cost term weighs per kWh (for the dearest interval, 0 for the cheapest): far below the
 * unmet-energy penalty (1000/kWh), so no kWh is left undelivered to save cost; above the tie-breaker.
 */
export const PRICE_WEIGHT = 10;

/** Reward per kWh delivered in interval t (the tie-breaker: earlier is better). */
export function earlyReward(t: number, count: number): number {
  return EARLY_REWARD * (1 - t / count);
}

/**
 * Value per kWh delivered in each interval, besides the session's own weight: the tie-breaker minus the
 * cost, prices scaled to [0, PRICE_WEIGHT] between the cheapest and the dearest interval. Non-finite or
 * missing prices count as the mean of the finite ones.
 */
export function intervalValues(count: number, prices: (number | null)[] | undefined): Float64Array {
  const v = new Float64Array(count);
  for (let t = 0; t < count; t++) v[t] = earlyReward(t, count);
  if (!prices) return v;
  const known: number[] = [];
  for (let t = 0; t < count; t++) {
    const x = prices[t];
    if (typeof x === 'number' && Number.isFinite(x)) known.push(x);
  }
  if (known.length === 0) return v;
  const lo = Math.min(...known);
  const hi = Math.max(...known);
  if (!(hi > lo)) return v;
  const mean = known.reduce((a, b) => a + b, 0) / known.length;
  for (let t = 0; t < count; t++) {
    const x = prices[t];
    const price = typeof x === 'number' && Number.isFinite(x) ? x : mean;
    v[t] = v[t]! - (PRICE_WEIGHT * (price - lo)) / (hi - lo);
  }
  return v;
}

/**
 * The decision variables of one grid area: p[e][t] (kW) for each session's EVSE e and each interval t in
 * its stay where it can run. One enumeration serves the LP builder and the priority solver, so both solve
 * exactly the same problem:
 *   p ∈ [0, ub], ub = min(EVSE max, session max, tightest limit on the path); skipped when ub ≤ 0 or
 *   ub < the session's min power (the charger could never run there);
 *   energy of p = p · a, a = Δt · (share of the interval the EV is plugged in).
 * Sessions are the EVSE indices with at least one column, in EVSE order; `sessionOf[c]` indexes them.
 */
export interface AreaColumns {
  colEvse: Int32Array;
  colT: Int32Array;
  colUb: Float64Array;
  colA: Float64Array;
  sessionOf: Int32Array;
  sessions: number[];
}

export function areaColumns(p: Problem, area: AreaRange): AreaColumns {
  const { count: T, dtH, tree, pathLim } = p;
  const colEvse: number[] = [];
  const colT: number[] = [];
  const colUb: number[] = [];
  const colA: number[] = [];
  const sessionOf: number[] = [];
  const sessions: number[] = [];
  for (let e = area.evLo; e < area.evHi; e++) {
    const s = p.session[e];
    if (!s || s.energyKwh <= 0 || s.maxKw <= 0) continue;
    const node = tree.evseNode[e]!;
    const first = colEvse.length;
    for (let t = s.t0; t < s.t1; t++) {
      const f = s.frac[t]!;
      const ub = Math.min(s.maxKw, pathLim[node * T + t]!);
      // Below the min power the charger must be off; an upper bound under it makes the variable useless.
      if (!(f > 0) || !(ub > 0) || ub < s.minKw) continue;
      colEvse.push(e);
      colT.push(t);
      colUb.push(ub);
      colA.push(dtH * f);
      sessionOf.push(sessions.length);
    }
    if (colEvse.length > first) sessions.push(e);
  }
  return {
    colEvse: Int32Array.from(colEvse), colT: Int32Array.from(colT), colUb: Float64Array.from(colUb),
    colA: Float64Array.from(colA), sessionOf: Int32Array.from(sessionOf), sessions,
  };
}

/** The upper bound of p[e][t] when it is a column of areaColumns (same test), else 0. */
export function columnUb(p: Problem, e: number, t: number): number {
  const s = p.session[e];
  if (!s || s.energyKwh <= 0 || s.maxKw <= 0 || t < s.t0 || t >= s.t1) return 0;
  const ub = Math.min(s.maxKw, p.pathLim[p.tree.evseNode[e]! * p.count + t]!);
  return s.frac[t]! > 0 && ub > 0 && ub >= s.minKw ? ub : 0;
}

/** Number of columns an area would have, without building them (to choose the method). */
export function countColumns(p: Problem, area: AreaRange): number {
  const { count: T, tree, pathLim } = p;
  let n = 0;
  for (let e = area.evLo; e < area.evHi; e++) {
    const s = p.session[e];
    if (!s || s.energyKwh <= 0 || s.maxKw <= 0) continue;
    const node = tree.evseNode[e]!;
    for (let t = s.t0; t < s.t1; t++) {
      const ub = Math.min(s.maxKw, pathLim[node * T + t]!);
      if (s.frac[t]! > 0 && ub > 0 && ub >= s.minKw) n++;
    }
  }
  return n;
}
