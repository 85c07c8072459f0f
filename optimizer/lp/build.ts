import type { Problem } from '../prepare.ts';
import type { AreaRange } from '../topology.ts';
import { areaColumns, type AreaColumns } from './columns.ts';
import type { GlpkConstants, GlpkLp, GlpkTerm } from './solve.ts';

export { EARLY_REWARD } from './columns.ts';

/** One LP (one grid area, or the whole instance) and the map from its columns back to (EVSE, interval). */
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

interface Acc {
  objective: GlpkTerm[];
  rows: GlpkLp['subjectTo'];
  bounds: GlpkLp['bounds'];
  colEvse: number[];
  colT: number[];
  colUb: number[];
  colName: string[];
  sessions: number[];
}

/**
 * LP for one grid area, minimising Σ weight_s · slack_s − Σ value_t · energy(p[e][t]), value_t = the
 * earlier-is-better tie-breaker minus the scaled price (columns.ts `intervalValues`):
 *   p[e][t] ∈ [0, ub]                                       (columns.ts: only where the EV is present)
 *   Σ_t p[e][t] · a[e][t] + slack_s = energy_s              (one row per session)
 *   Σ_{e under n} p[e][t] ≤ limit[n][t]                     (one row per node and interval, unless provably redundant)
 * A node row is redundant when an ancestor's limit is not larger (its row covers a superset of variables),
 * or when the variables under it cannot reach the limit even all at their maximum.
 * `colOf[e * count + t]` is set to the column index of p[e][t] (it must hold -1 for this area's EVSEs).
 */
export function buildAreaLp(p: Problem, area: AreaRange, k: GlpkConstants, colOf: Int32Array, cols: AreaColumns = areaColumns(p, area)): AreaLp | null {
  const acc = newAcc();
  appendArea(p, area, k, colOf, cols, acc);
  return finish(acc, `area_${p.tree.nodes[area.node]!.id}`, k);
}

/**
 * The whole instance as one LP, every grid area in it: the reference the decomposed solve is measured
 * against (tests and bench). Same columns, rows and objective as the per-area LPs, side by side.
 */
export function buildMonolithicLp(p: Problem, k: GlpkConstants): AreaLp | null {
  const acc = newAcc();
  const colOf = new Int32Array(p.tree.evseNode.length * p.count).fill(-1);
  for (const area of p.tree.roots) appendArea(p, area, k, colOf, areaColumns(p, area), acc);
  return finish(acc, 'monolithic', k);
}

function newAcc(): Acc {
  return { objective: [], rows: [], bounds: [], colEvse: [], colT: [], colUb: [], colName: [], sessions: [] };
}

function finish(acc: Acc, name: string, k: GlpkConstants): AreaLp | null {
  if (acc.colName.length === 0) return null;
  return {
    lp: { name, objective: { direction: k.GLP_MIN, name: 'cost', vars: acc.objective }, subjectTo: acc.rows, bounds: acc.bounds },
    colEvse: Int32Array.from(acc.colEvse),
    colT: Int32Array.from(acc.colT),
    colUb: Float64Array.from(acc.colUb),
    colName: acc.colName,
    sessions: acc.sessions,
    rows: acc.rows.length,
  };
}

function appendArea(p: Problem, area: AreaRange, k: GlpkConstants, colOf: Int32Array, cols: AreaColumns, acc: Acc): void {
  const { count: T, tree, pathLim, lim } = p;
  const base = acc.colName.length;
  const energy: GlpkTerm[][] = cols.sessions.map(() => []);
  for (let c = 0; c < cols.colEvse.length; c++) {
    const e = cols.colEvse[c]!;
    const t = cols.colT[c]!;
    const a = cols.colA[c]!;
    const name = `p${base + c}`;
    colOf[e * T + t] = base + c;
    acc.colEvse.push(e);
    acc.colT.push(t);
    acc.colUb.push(cols.colUb[c]!);
    acc.colName.push(name);
    acc.bounds.push({ name, type: k.GLP_DB, lb: 0, ub: cols.colUb[c]! });
    acc.objective.push({ name, coef: -p.intervalValue[t]! * a });
    energy[cols.sessionOf[c]!]!.push({ name, coef: a });
  }
  cols.sessions.forEach((e, i) => {
    const s = p.session[e]!;
    const slack = `s${e}`;
    const terms = energy[i]!;
    terms.push({ name: slack, coef: 1 });
    acc.bounds.push({ name: slack, type: k.GLP_LO, lb: 0, ub: 0 });
    acc.objective.push({ name: slack, coef: s.weight });
    acc.rows.push({ name: `e${e}`, vars: terms, bnds: { type: k.GLP_FX, lb: s.energyKwh, ub: s.energyKwh } });
    acc.sessions.push(e);
  });
  if (cols.colEvse.length === 0) return;

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
        sumUb += acc.colUb[c]!;
        terms.push({ name: acc.colName[c]!, coef: 1 });
      }
      if (sumUb <= limit) continue;
      acc.rows.push({ name: `n${n}_${t}`, vars: terms, bnds: { type: k.GLP_UP, lb: 0, ub: limit } });
    }
  }
}
