import type { Problem } from '../prepare.ts';
import type { AreaRange } from '../topology.ts';
import type { GlpkConstants, GlpkLp, GlpkTerm } from './solve.ts';

/**
 * Reward per kWh for charging in the first interval, falling linearly towards 0 at the horizon end.
 * It only breaks ties (flat prices leave many equal optima, and the simplex then wanders); it must stay far
 * below the unmet-energy penalty (1000/kWh) so it never trades a delivered kWh for an earlier one.
 */
export const EARLY_REWARD = 1;

/** One grid area's LP and the map from its columns back to (EVSE, interval). */
export interface AreaLp {
  lp: GlpkLp;
  colEvse: Int32Array;
  colT: Int32Array;
  colUb: Float64Array;
  colName: string[];
  /** EVSE indices of the sessions that have an energy row (and a slack) in this LP. */
  sessions: number[];
  rows: number;
}

/**
 * LP for one grid area, minimising Σ weight_s · slack_s − Σ reward_t · energy(p[e][t]):
 *   p[e][t] ∈ [0, min(EVSE max, session max, tightest limit on its path)]   (only where the EV is present)
 *   Σ_t p[e][t] · Δt · frac[t] + slack_s = energy_s                          (one row per session)
 *   Σ_{e under n} p[e][t] ≤ limit[n][t]                                      (one row per node and interval,
 *                                                                             unless provably redundant)
 * A node row is redundant when an ancestor's limit is not larger (its row covers a superset of variables),
 * or when the variables under it cannot reach the limit even all at their maximum.
 * `colOf[e * count + t]` is set to the column index of p[e][t] (it must hold -1 for this area's EVSEs).
 */
export function buildAreaLp(p: Problem, area: AreaRange, k: GlpkConstants, colOf: Int32Array): AreaLp | null {
  const { count: T, dtH, tree, pathLim, lim } = p;
  const objective: GlpkTerm[] = [];
  const rows: GlpkLp['subjectTo'] = [];
  const bounds: GlpkLp['bounds'] = [];
  const colEvse: number[] = [];
  const colT: number[] = [];
  const colUb: number[] = [];
  const colName: string[] = [];
  const sessions: number[] = [];

  for (let e = area.evLo; e < area.evHi; e++) {
    const s = p.session[e];
    if (!s || s.energyKwh <= 0 || s.maxKw <= 0) continue;
    const node = tree.evseNode[e]!;
    const energy: GlpkTerm[] = [];
    for (let t = s.t0; t < s.t1; t++) {
      const f = s.frac[t]!;
      const ub = Math.min(s.maxKw, pathLim[node * T + t]!);
      // Below the min power the charger must be off; an upper bound under it makes the variable useless.
      if (!(f > 0) || !(ub > 0) || ub < s.minKw) continue;
      const col = colName.length;
      const name = `p${col}`;
      colOf[e * T + t] = col;
      colEvse.push(e);
      colT.push(t);
      colUb.push(ub);
      colName.push(name);
      bounds.push({ name, type: k.GLP_DB, lb: 0, ub });
      objective.push({ name, coef: -EARLY_REWARD * dtH * f * (1 - t / T) });
      energy.push({ name, coef: dtH * f });
    }
    if (energy.length === 0) continue;
    const slack = `s${e}`;
    energy.push({ name: slack, coef: 1 });
    bounds.push({ name: slack, type: k.GLP_LO, lb: 0, ub: 0 });
    objective.push({ name: slack, coef: s.weight });
    rows.push({ name: `e${e}`, vars: energy, bnds: { type: k.GLP_FX, lb: s.energyKwh, ub: s.energyKwh } });
    sessions.push(e);
  }
  if (colName.length === 0) return null;

  for (let q = area.lo; q < area.hi; q++) {
    const n = tree.preorder[q]!;
    const parent = tree.parent[n]!;
    const lo = tree.evLo[n]!;
    const hi = tree.evHi[n]!;
    if (hi === lo) continue;
    for (let t = 0; t < T; t++) {
      const limit = lim[n * T + t]!;
      if (limit === Number.POSITIVE_INFINITY) continue;
      if (parent >= 0 && pathLim[parent * T + t]! <= limit) continue;
      let sumUb = 0;
      const terms: GlpkTerm[] = [];
      for (let e = lo; e < hi; e++) {
        const c = colOf[e * T + t]!;
        if (c < 0) continue;
        sumUb += colUb[c]!;
        terms.push({ name: colName[c]!, coef: 1 });
      }
      if (sumUb <= limit) continue;
      rows.push({ name: `n${n}_${t}`, vars: terms, bnds: { type: k.GLP_UP, lb: 0, ub: limit } });
    }
  }

  return {
    lp: { name: `area_${tree.nodes[area.node]!.id}`, objective: { direction: k.GLP_MIN, name: 'cost', vars: objective }, subjectTo: rows, bounds },
    colEvse: Int32Array.from(colEvse),
    colT: Int32Array.from(colT),
    colUb: Float64Array.from(colUb),
    colName,
    sessions,
    rows: rows.length,
  };
}
