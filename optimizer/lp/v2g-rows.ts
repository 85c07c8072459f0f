import type { Problem } from '../prepare.ts';
import type { AreaRange } from '../topology.ts';
import { CYCLE_COST, EXPORT_SHORTFALL_PENALTY } from '../v2g.ts';
import type { AreaColumns } from './columns.ts';
import type { GlpkConstants, GlpkLp, GlpkTerm } from './solve.ts';

/** The part of the LP accumulator (build.ts) the V2G rows write to. */
export interface V2gAcc {
  objective: GlpkTerm[];
  rows: GlpkLp['subjectTo'];
  bounds: GlpkLp['bounds'];
  colName: string[];
  disEvse: number[];
  disT: number[];
  disUb: number[];
  disName: string[];
}

/**
 * The V2G part of one area's LP (docs/optimizer.md, "V2G and export"):
 *   q[e][t] ∈ [0, ub]  discharge columns (columns.ts), objective (v_t + CYCLE_COST) · a · q: discharging
 *                      is negative charging, plus a wear cost per kWh discharged;
 *   energy row of the session gets −a · q (the need is net energy);
 *   soc[e][t] ∈ [minSoc, capacity], soc[e][t] = soc[e][prev] + a · (p − q)   (one chain per V2G session
 *                      with discharge columns, over the intervals where it has a column; soc[e][-1] = socKwh);
 *   Σ_{e under n} q[e][t] ≤ X[n][t]   gross export limit (unless redundant, as for import);
 *   Σ_{e under n} (p − q)[e][t] − short[n][t] ≤ −R[n][t]   required export (envelope importKw = −R < 0),
 *                      short ≥ 0 costs EXPORT_SHORTFALL_PENALTY per kWh, so it is used only when impossible.
 * No row forbids charging and discharging one EVSE in the same interval: doing both costs the wear
 * (CYCLE_COST per kWh) and changes nothing else (SoC, energy and every limit see p − q or each side
 * alone, which both only loosen), so an optimum never does it; the result nets them anyway (kw = p − q).
 * `energy[i]` are the energy-row terms of session cols.sessions[i]; `colOf` maps (e, t) to p columns.
 */
export function appendV2gRows(p: Problem, area: AreaRange, k: GlpkConstants, colOf: Int32Array, cols: AreaColumns, energy: GlpkTerm[][], acc: V2gAcc): void {
  const { count: T, tree, exportLim, exportPathLim, minExport, dtH } = p;
  const nD = cols.disEvse.length;
  // An area without columns is not in any LP: its required exports are a constant (report.ts fixedObjective).
  if (nD === 0 && cols.colEvse.length === 0) return;
  const disStart = acc.disName.length;
  /** Discharge columns by interval, in EVSE order (columns are enumerated by EVSE, then time). */
  const byT: number[][] = Array.from({ length: T }, () => []);
  const disOf = new Map<number, number>();
  for (let c = 0; c < nD; c++) {
    const e = cols.disEvse[c]!;
    const t = cols.disT[c]!;
    const a = cols.disA[c]!;
    const name = `q${disStart + c}`;
    acc.disEvse.push(e);
    acc.disT.push(t);
    acc.disUb.push(cols.disUb[c]!);
    acc.disName.push(name);
    acc.bounds.push({ name, type: k.GLP_DB, lb: 0, ub: cols.disUb[c]! });
    acc.objective.push({ name, coef: (p.intervalValue[t]! + CYCLE_COST) * a });
    energy[cols.disSessionOf[c]!]!.push({ name, coef: -a });
    byT[t]!.push(c);
    disOf.set(e * T + t, c);
  }

  // SoC chains.
  let lastE = -1;
  for (let c = 0; c < nD; c++) {
    const e = cols.disEvse[c]!;
    if (e === lastE) continue;
    lastE = e;
    const s = p.session[e]!;
    const v = s.v2g!;
    let prev: string | null = null;
    for (let t = s.t0; t < s.t1; t++) {
      const pc = colOf[e * T + t]!;
      const qc = disOf.get(e * T + t);
      if (pc < 0 && qc === undefined) continue;
      const a = dtH * s.frac[t]!;
      const soc = `soc${e}_${t}`;
      const fixed = v.minSocKwh === v.capacityKwh;
      acc.bounds.push({ name: soc, type: fixed ? k.GLP_FX : k.GLP_DB, lb: v.minSocKwh, ub: v.capacityKwh });
      const terms: GlpkTerm[] = [{ name: soc, coef: 1 }];
      if (prev) terms.push({ name: prev, coef: -1 });
      if (pc >= 0) terms.push({ name: acc.colName[pc]!, coef: -a });
      if (qc !== undefined) terms.push({ name: acc.disName[disStart + qc]!, coef: a });
      const rhs = prev ? 0 : v.socKwh;
      acc.rows.push({ name: `c${e}_${t}`, vars: terms, bnds: { type: k.GLP_FX, lb: rhs, ub: rhs } });
      prev = soc;
    }
  }

  for (let q = area.lo; q < area.hi; q++) {
    const n = tree.preorder[q]!;
    const parent = tree.parent[n]!;
    const lo = tree.evLo[n]!;
    const hi = tree.evHi[n]!;
    for (let t = 0; t < T; t++) {
      // (exportLim is empty when no session may discharge, i.e. nD = 0.)
      const limit = nD > 0 && hi > lo ? exportLim[n * T + t]! : Number.POSITIVE_INFINITY;
      if (limit !== Number.POSITIVE_INFINITY && !(parent >= 0 && exportPathLim[parent * T + t]! <= limit)) {
        let sumUb = 0;
        const terms: GlpkTerm[] = [];
        for (const c of byT[t]!) {
          const e = cols.disEvse[c]!;
          if (e < lo || e >= hi) continue;
          sumUb += cols.disUb[c]!;
          terms.push({ name: acc.disName[disStart + c]!, coef: 1 });
        }
        if (sumUb > limit) acc.rows.push({ name: `x${n}_${t}`, vars: terms, bnds: { type: k.GLP_UP, lb: 0, ub: limit } });
      }
      // A required export is a row even with no EVSE below (only its shortfall), so the LP's value is the plan's.
      const need = minExport.length > 0 ? minExport[n * T + t]! : 0;
      if (need > 0) {
        const short = `v${n}_${t}`;
        const terms: GlpkTerm[] = [{ name: short, coef: -1 }];
        for (let e = lo; e < hi; e++) {
          const pc = colOf[e * T + t]!;
          if (pc >= 0) terms.push({ name: acc.colName[pc]!, coef: 1 });
        }
        for (const c of byT[t]!) {
          const e = cols.disEvse[c]!;
          if (e >= lo && e < hi) terms.push({ name: acc.disName[disStart + c]!, coef: -1 });
        }
        acc.bounds.push({ name: short, type: k.GLP_LO, lb: 0, ub: 0 });
        acc.objective.push({ name: short, coef: EXPORT_SHORTFALL_PENALTY * dtH });
        acc.rows.push({ name: `r${n}_${t}`, vars: terms, bnds: { type: k.GLP_UP, lb: 0, ub: -need } });
      }
    }
  }
}
