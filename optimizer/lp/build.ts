import type { Problem } from '../prepare.ts';
import { areaShares } from '../sharing.ts';
import type { AreaRange } from '../topology.ts';
import { areaColumns, type AreaColumns } from './columns.ts';
import { appendSharing, SHARING_PREFIX } from './sharing-rows.ts';
import type { GlpkConstants, GlpkLp, GlpkTerm } from './solve.ts';
import { appendV2gRows, type V2gAcc } from './v2g-rows.ts';

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
  /** a · p of every column of the areas with a sharing term (see `energyFirstLp`); empty when none. */
  sharedEnergy: GlpkTerm[];
  /** Discharge columns q (V2G, lp/v2g-rows.ts): their (EVSE, interval), upper bound and name. */
  disEvse: Int32Array;
  disT: Int32Array;
  disUb: Float64Array;
  disName: string[];
}

interface Acc extends V2gAcc {
  objective: GlpkTerm[];
  rows: GlpkLp['subjectTo'];
  bounds: GlpkLp['bounds'];
  colEvse: number[];
  colT: number[];
  colUb: number[];
  colName: string[];
  sessions: number[];
  sharedEnergy: GlpkTerm[];
}

/**
 * LP for one grid area, minimising Σ weight_s · slack_s − Σ value_t · energy(p[e][t]), value_t = the
 * earlier-is-better tie-breaker minus the scaled price (columns.ts `intervalValues`):
 *   p[e][t] ∈ [0, ub]                                       (columns.ts: only where the EV is present)
 *   Σ_t p[e][t] · a[e][t] + slack_s = energy_s              (one row per session)
 *   Σ_{e under n} p[e][t] ≤ limit[n][t]                     (one row per node and interval, unless provably redundant)
 * A node row is redundant when an ancestor's limit is not larger (its row covers a superset of variables),
 * or when the variables under it cannot reach the limit even all at their maximum.
 * V2G sessions add discharge columns q, SoC chains, gross export rows and required-export rows
 * (lp/v2g-rows.ts); their energy rows count p − q.
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
  return { objective: [], rows: [], bounds: [], colEvse: [], colT: [], colUb: [], colName: [], sessions: [], sharedEnergy: [], disEvse: [], disT: [], disUb: [], disName: [] };
}

function finish(acc: Acc, name: string, k: GlpkConstants): AreaLp | null {
  if (acc.colName.length === 0 && acc.disName.length === 0) return null;
  return {
    lp: { name, objective: { direction: k.GLP_MIN, name: 'cost', vars: acc.objective }, subjectTo: acc.rows, bounds: acc.bounds },
    colEvse: Int32Array.from(acc.colEvse),
    colT: Int32Array.from(acc.colT),
    colUb: Float64Array.from(acc.colUb),
    colName: acc.colName,
    sessions: acc.sessions,
    rows: acc.rows.length,
    sharedEnergy: acc.sharedEnergy,
    disEvse: Int32Array.from(acc.disEvse),
    disT: Int32Array.from(acc.disT),
    disUb: Float64Array.from(acc.disUb),
    disName: acc.disName,
  };
}

function appendArea(p: Problem, area: AreaRange, k: GlpkConstants, colOf: Int32Array, cols: AreaColumns, acc: Acc): void {
  const { count: T, tree, pathLim, lim } = p;
  const base = acc.colName.length;
  const objStart = acc.objective.length;
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
  // Discharge columns, SoC chains, export rows and required-export rows (V2G; none without it).
  const disStart = acc.disName.length;
  appendV2gRows(p, area, k, colOf, cols, energy, acc);
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
  // (No charge columns, e.g. import capped at 0 by a required export: no node rows, but the sharing term
  // still applies to the discharge columns below.)
  for (let q = area.lo; q < area.hi && cols.colEvse.length > 0; q++) {
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
  if (p.churn > 0) appendChurn(p, k, cols, colOf, base, objStart, acc);
  if (areaShares(p, area)) {
    appendSharing(p, area, k, colOf, acc);
    for (let c = 0; c < cols.colEvse.length; c++) acc.sharedEnergy.push({ name: acc.colName[base + c]!, coef: cols.colA[c]! });
    // Net energy: stage 1 must not count kWh charged only to be discharged again.
    for (let c = 0; c < cols.disEvse.length; c++) acc.sharedEnergy.push({ name: acc.disName[disStart + c]!, coef: -cols.disA[c]! });
  }
}

/**
 * With a sharing policy, delivering energy comes strictly first (lexicographic, not by weights, so no
 * partly covered interval or urgency difference can trade a kWh for fairness): stage 1 maximises the kWh
 * of the sharing areas, stage 2 is the LP itself with `withEnergyFloor` (at least that many kWh). Within
 * that floor the sharing term (300/kWh) outranks urgency (≤ 100/kWh) and cost (≤ 11/kWh).
 * Returns the stage-1 LP (minimises −kWh), or null when no area shares.
 */
export function energyFirstLp(built: AreaLp, k: GlpkConstants): GlpkLp | null {
  if (built.sharedEnergy.length === 0) return null;
  const vars = built.sharedEnergy.map((t) => ({ name: t.name, coef: -t.coef }));
  // The sharing rows only define their auxiliary variables (shortfalls, CPO energies, gaps), each free to
  // follow p and q: they constrain no kWh, so stage 1 leaves them and those variables out (maxmin at 100
  // sites: about half the rows; `npm run bench -- sharing`).
  const shared = (name: string): boolean => name.startsWith(SHARING_PREFIX);
  return {
    name: `${built.lp.name}_energy`,
    objective: { direction: k.GLP_MIN, name: 'kwh', vars },
    subjectTo: built.lp.subjectTo.filter((r) => !shared(r.name)),
    bounds: built.lp.bounds.filter((b) => !shared(b.name)),
    ...(built.lp.binaries ? { binaries: built.lp.binaries } : {}),
  };
}

/** Adds "kWh of the sharing areas ≥ kwh" (less a relative 1e-7 for the simplex's tolerances) to `built.lp`. */
export function withEnergyFloor(built: AreaLp, kwh: number, k: GlpkConstants): void {
  built.lp.subjectTo.push({ name: 'energy_floor', vars: built.sharedEnergy, bnds: { type: k.GLP_LO, lb: kwh - 1e-7 * Math.max(1, Math.abs(kwh)), ub: 0 } });
}

/**
 * The churn term: for consecutive intervals t, t + 1 of a session's stay, penalty · |p[t + 1] − p[t]|,
 * with an auxiliary d ≥ ±(p[t + 1] − p[t]) when both are columns; when only one is (the other is fixed
 * at 0), the penalty goes on that column's coefficient directly.
 */
function appendChurn(p: Problem, k: GlpkConstants, cols: AreaColumns, colOf: Int32Array, base: number, objStart: number, acc: Acc): void {
  const T = p.count;
  const extra = new Float64Array(cols.colEvse.length);
  for (const e of cols.sessions) {
    const s = p.session[e]!;
    for (let t = s.t0; t + 1 < s.t1; t++) {
      const c0 = colOf[e * T + t]!;
      const c1 = colOf[e * T + t + 1]!;
      if (c0 < 0 && c1 < 0) continue;
      if (c0 < 0 || c1 < 0) {
        extra[(c0 < 0 ? c1 : c0) - base]! += p.churn;
        continue;
      }
      const name = `d${e}_${t}`;
      const a = acc.colName[c0]!;
      const b = acc.colName[c1]!;
      acc.bounds.push({ name, type: k.GLP_LO, lb: 0, ub: 0 });
      acc.objective.push({ name, coef: p.churn });
      acc.rows.push({ name: `du${e}_${t}`, vars: [{ name, coef: 1 }, { name: b, coef: -1 }, { name: a, coef: 1 }], bnds: { type: k.GLP_LO, lb: 0, ub: 0 } });
      acc.rows.push({ name: `dd${e}_${t}`, vars: [{ name, coef: 1 }, { name: b, coef: 1 }, { name: a, coef: -1 }], bnds: { type: k.GLP_LO, lb: 0, ub: 0 } });
    }
  }
  // The columns' objective terms are the first ones appendArea pushed, in column order.
  extra.forEach((x, c) => {
    if (x > 0) acc.objective[objStart + c]!.coef += x;
  });
}
