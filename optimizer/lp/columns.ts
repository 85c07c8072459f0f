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
 * The decision variables of one grid area: charge p[e][t] (kW) for each session's EVSE e and each interval
 * t in its stay where it can run, and discharge q[e][t] (kW, a magnitude) for V2G sessions. One
 * enumeration serves the LP builder and the priority solver, so both solve exactly the same problem:
 *   p ∈ [0, ub], ub = min(EVSE max, session max, tightest import limit on the path); skipped when ub ≤ 0
 *   or ub < the session's min power (the charger could never run there);
 *   q ∈ [0, ub], ub = min(V2G max discharge, EVSE max, tightest export limit on the path), same skips;
 *   energy of p = p · a, a = Δt · (share of the interval the EV is plugged in); q takes q · a.
 * A session wanting no energy has charge columns only when it is V2G (to recharge what it discharges).
 * Sessions are the EVSE indices with at least one column of either kind, in EVSE order; `sessionOf[c]`
 * and `disSessionOf[c]` index them.
 */
export interface AreaColumns {
  colEvse: Int32Array;
  colT: Int32Array;
  colUb: Float64Array;
  colA: Float64Array;
  sessionOf: Int32Array;
  sessions: number[];
  /** Discharge columns q, session by session in time order (empty without V2G sessions). */
  disEvse: Int32Array;
  disT: Int32Array;
  disUb: Float64Array;
  disA: Float64Array;
  disSessionOf: Int32Array;
}

/** Whether the session gets charge columns at all. */
function charges(p: Problem, e: number): boolean {
  const s = p.session[e];
  return !!s && (s.energyKwh > 0 || s.v2g !== null) && s.maxKw > 0;
}

/** The upper bound of q[e][t] when it is a discharge column, else 0. */
export function dischargeUb(p: Problem, e: number, t: number): number {
  const s = p.session[e];
  if (!s || !s.v2g || s.maxKw <= 0 || t < s.t0 || t >= s.t1 || !(s.frac[t]! > 0)) return 0;
  const ub = Math.min(s.v2g.maxDischargeKw, p.exportPathLim[p.tree.evseNode[e]! * p.count + t]!);
  return ub > 0 && ub >= s.minKw ? ub : 0;
}

export function areaColumns(p: Problem, area: AreaRange): AreaColumns {
  const { count: T, dtH, tree, pathLim } = p;
  const colEvse: number[] = [];
  const colT: number[] = [];
  const colUb: number[] = [];
  const colA: number[] = [];
  const sessionOf: number[] = [];
  const sessions: number[] = [];
  const dis = { evse: [] as number[], t: [] as number[], ub: [] as number[], a: [] as number[], sessionOf: [] as number[] };
  for (let e = area.evLo; e < area.evHi; e++) {
    const s = p.session[e];
    if (!s || !charges(p, e)) continue;
    const node = tree.evseNode[e]!;
    const first = colEvse.length;
    const firstDis = dis.evse.length;
    if (s.v2g) {
      for (let t = s.t0; t < s.t1; t++) {
        const ub = dischargeUb(p, e, t);
        if (!(ub > 0)) continue;
        dis.evse.push(e);
        dis.t.push(t);
        dis.ub.push(ub);
        dis.a.push(dtH * s.frac[t]!);
        dis.sessionOf.push(sessions.length);
      }
    }
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
    if (colEvse.length > first || dis.evse.length > firstDis) sessions.push(e);
  }
  return {
    colEvse: Int32Array.from(colEvse), colT: Int32Array.from(colT), colUb: Float64Array.from(colUb),
    colA: Float64Array.from(colA), sessionOf: Int32Array.from(sessionOf), sessions,
    disEvse: Int32Array.from(dis.evse), disT: Int32Array.from(dis.t), disUb: Float64Array.from(dis.ub),
    disA: Float64Array.from(dis.a), disSessionOf: Int32Array.from(dis.sessionOf),
  };
}

/** The upper bound of p[e][t] when it is a column of areaColumns (same test), else 0. */
export function columnUb(p: Problem, e: number, t: number): number {
  const s = p.session[e];
  if (!s || !charges(p, e) || t < s.t0 || t >= s.t1) return 0;
  const ub = Math.min(s.maxKw, p.pathLim[p.tree.evseNode[e]! * p.count + t]!);
  return s.frac[t]! > 0 && ub > 0 && ub >= s.minKw ? ub : 0;
}

/** Number of columns (charge and discharge) an area would have, without building them. */
export function countColumns(p: Problem, area: AreaRange): number {
  let n = 0;
  for (let e = area.evLo; e < area.evHi; e++) {
    const s = p.session[e];
    if (!s || !charges(p, e)) continue;
    for (let t = s.t0; t < s.t1; t++) {
      if (columnUb(p, e, t) > 0) n++;
      if (s.v2g && dischargeUb(p, e, t) > 0) n++;
    }
  }
  return n;
}
