import type { Problem } from '../prepare.ts';
import { CLASS_STEP, classRanks, cyclingGuard, maxminWeights, participants, SHARING_WEIGHT } from '../sharing.ts';
import type { AreaRange } from '../topology.ts';
import type { GlpkConstants, GlpkTerm } from './solve.ts';
import type { V2gAcc } from './v2g-rows.ts';

/**
 * Every row and auxiliary variable this module adds is named with this prefix (and nothing else in an area's
 * LP is: slacks are `s<digits>`, SoC `soc…`), so build.ts `energyFirstLp` can leave them out of stage 1.
 */
export const SHARING_PREFIX = 'sh';

/**
 * The parts of an LP under construction that the sharing term adds to: build.ts's accumulator, whose
 * discharge columns q (lp/v2g-rows.ts) are appended before the sharing rows.
 */
export type SharingAcc = Omit<V2gAcc, 'disUb'>;

/**
 * The sharing term of one area (sharing.ts has the definitions and `sharingPenalty`, which evaluates
 * exactly what is built here), for each interval t where at least two CPOs take part. P_c,t is the net
 * energy (Σ a · (p − q), kWh) of CPO c's EVSEs in t: a discharge counts against the CPO, so charging an EV
 * to discharge it later cannot fill a share (cycling).
 * - 'proportional': a shortfall short_c,t ≥ share_c · X_t − P_c,t, ≥ 0, at SHARING_WEIGHT per kWh
 *   (share_c = w_c / Σ w of the CPOs taking part, X_t = Σ P_c,t); no auxiliary P (it is written out).
 * - 'maxmin': P_c,t as a free variable (negative when the CPO discharges net), and per pair i < j a gap g ≥ ±(v_j · P_i − v_i · P_j), ≥ 0, at
 *   SHARING_WEIGHT per unit (v = w / the smallest positive weight taking part, `maxminWeights`).
 * - 'classes': u_c,t ≥ P_c,t, u ≥ 0 (the positive part of P) at CLASS_STEP · (rank of c's class among
 *   those taking part) per kWh: a discharge earns no credit.
 * Plus the cycling guard per kWh on every discharge column of the area (`cyclingGuard`): net counting
 * alone still let a cycle across intervals lower the term.
 */
export function appendSharing(p: Problem, area: AreaRange, k: GlpkConstants, colOf: Int32Array, acc: SharingAcc): void {
  const sh = p.sharing;
  if (!sh) return;
  const T = p.count;
  // This area's discharge columns by (EVSE, interval).
  const disOf = new Map<number, string>();
  /** The same, name → a (kWh per kW), for the cycling guard. */
  const disA = new Map<string, number>();
  for (let c = 0; c < acc.disEvse.length; c++) {
    const e = acc.disEvse[c]!;
    const t = acc.disT[c]!;
    if (e < area.evLo || e >= area.evHi) continue;
    disOf.set(e * T + t, acc.disName[c]!);
    disA.set(acc.disName[c]!, p.dtH * p.session[e]!.frac[t]!);
  }
  // The cycling guard on every discharge column (sharing.ts `cyclingGuard`), added to the coefficient
  // lp/v2g-rows.ts gave it (a second objective entry for the same column would replace, not add).
  const guard = disA.size > 0 ? cyclingGuard(p, area) : 0;
  if (guard > 0) {
    for (const term of acc.objective) {
      const a = disA.get(term.name);
      if (a !== undefined) term.coef += guard * a;
    }
  }
  /** a · (p − q) of each of the CPO's EVSEs that has a column in t, times `scale`. */
  const energyTerms = (evs: number[], t: number, scale: number, out: GlpkTerm[]): void => {
    for (const e of evs) {
      const a = scale * p.dtH * p.session[e]!.frac[t]!;
      const col = colOf[e * T + t]!;
      if (col >= 0) out.push({ name: acc.colName[col]!, coef: a });
      const q = disOf.get(e * T + t);
      if (q !== undefined) out.push({ name: q, coef: -a });
    }
  };
  /**
   * A variable for c's net energy in t with objective coefficient `coef`; returns its name. `positivePart`:
   * u ≥ P, u ≥ 0 (minimised, it is max(0, P)); else P itself, free.
   */
  const energyVar = (c: number, t: number, evs: number[], coef: number, positivePart: boolean): string => {
    const name = `shp${c}_${t}`;
    const terms: GlpkTerm[] = [{ name, coef: 1 }];
    energyTerms(evs, t, -1, terms);
    acc.bounds.push(positivePart ? { name, type: k.GLP_LO, lb: 0, ub: 0 } : { name, type: k.GLP_FR, lb: 0, ub: 0 });
    if (coef !== 0) acc.objective.push({ name, coef });
    acc.rows.push({ name: `shp${c}_${t}`, vars: terms, bnds: positivePart ? { type: k.GLP_LO, lb: 0, ub: 0 } : { type: k.GLP_FX, lb: 0, ub: 0 } });
    return name;
  };

  for (let t = 0; t < T; t++) {
    const part = participants(p, area, t);
    if (part.size === 0) continue;
    const cpos = [...part.keys()];
    const weights = cpos.map((c) => sh.weight[c]!);

    if (sh.kind === 'proportional') {
      const sumW = weights.reduce((a, b) => a + b, 0);
      cpos.forEach((c, i) => {
        const share = weights[i]! / sumW;
        if (!(share > 0)) return;
        const name = `sh${c}_${t}`;
        const terms: GlpkTerm[] = [{ name, coef: 1 }];
        for (const [d, evs] of part) {
          const coef = (d === c ? 1 : 0) - share;
          if (coef !== 0) energyTerms(evs, t, coef, terms);
        }
        acc.bounds.push({ name, type: k.GLP_LO, lb: 0, ub: 0 });
        acc.objective.push({ name, coef: SHARING_WEIGHT });
        acc.rows.push({ name: `share${c}_${t}`, vars: terms, bnds: { type: k.GLP_LO, lb: 0, ub: 0 } });
      });
      continue;
    }

    if (sh.kind === 'classes') {
      const rank = classRanks(cpos.map((c) => sh.cls[c]!));
      cpos.forEach((c, i) => {
        if (rank[i]! > 0) energyVar(c, t, part.get(c)!, CLASS_STEP * rank[i]!, true);
      });
      continue;
    }

    const v = maxminWeights(weights);
    const vars = cpos.map((c) => energyVar(c, t, part.get(c)!, 0, false));
    for (let i = 0; i < cpos.length; i++) {
      for (let j = i + 1; j < cpos.length; j++) {
        const wi = v[i]!;
        const wj = v[j]!;
        if (!(wi + wj > 0)) continue;
        const name = `shg${cpos[i]}_${cpos[j]}_${t}`;
        acc.bounds.push({ name, type: k.GLP_LO, lb: 0, ub: 0 });
        acc.objective.push({ name, coef: SHARING_WEIGHT });
        for (const sign of [1, -1]) {
          const terms: GlpkTerm[] = [{ name, coef: 1 }];
          if (wj !== 0) terms.push({ name: vars[i]!, coef: -sign * wj });
          if (wi !== 0) terms.push({ name: vars[j]!, coef: sign * wi });
          acc.rows.push({ name: `${name}${sign > 0 ? 'u' : 'd'}`, vars: terms, bnds: { type: k.GLP_LO, lb: 0, ub: 0 } });
        }
      }
    }
  }
}
