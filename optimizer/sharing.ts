import type { SharingPolicy } from './model.ts';
import type { Problem } from './prepare.ts';
import type { Reasons } from './reasons.ts';
import type { AreaRange, Tree } from './topology.ts';
import { columnUb, dischargeUb } from './lp/columns.ts';

/**
 * How the sharing term weighs against the rest of the objective (docs/optimizer.md, "Sharing"). The order
 * the issue asks for, lexicographic in effect:
 *   1. energy: in an area with a sharing term the LP first maximises the kWh delivered and keeps that as a
 *      floor (lp/build.ts `energyFirstLp`), so no policy ever costs a kWh; elsewhere unmet energy costs
 *      1000/kWh (UNMET_PENALTY) and priority sessions (OCPP 2.1) another 1000 (PRIORITY_BONUS, prepare.ts).
 *   2. sharing: what follows is about moving power between CPOs within one interval with the kWh fixed,
 *      where cost and tie-breaker are the same for both sides. Each policy's term is built so that every
 *      such move that the policy's definition asks for lowers it by at least SHARING_WEIGHT (300) per kWh
 *      ('proportional', 'maxmin') or CLASS_STEP (150) per kWh ('priority', 'fcfs'): more than the largest
 *      urgency difference between two sessions (100/kWh), so the optimum always makes the move.
 *   3. urgency (≤ 100/kWh), then cost (≤ 10/kWh) and the tie-breaker (≤ 1/kWh).
 * Priority sessions against the sharing term: their extra 1000/kWh (≥ 900 more than any other session)
 * beats the term where moving a kWh within an interval changes it by less than 900 − 100: always for
 * 'proportional' (≤ 300), for 'priority'/'fcfs' with up to 6 classes taking part (≤ 150 per class step),
 * for 'maxmin' while (Σ weights − the CPO's weight) / the smallest weight < 8/3 (see `maxminWeights`).
 */
export const SHARING_WEIGHT = 300;
/** Penalty per kWh per class step below the highest class taking part in an interval ('priority', 'fcfs'). */
export const CLASS_STEP = 150;

export type SharingKind = 'proportional' | 'maxmin' | 'classes';

/** The sharing policy after validation. */
export interface Sharing {
  /** 'classes' serves both 'priority' and 'fcfs' (fcfs: earlier in the order = higher class). */
  kind: SharingKind;
  /** Per EVSE index: the node index of the topmost CPO above it, or -1 (takes no part). */
  cpoOf: Int32Array;
  /** Per node index: the CPO's weight (0 for other nodes; 1 for every CPO with classes). */
  weight: Float64Array;
  /** Per node index: the CPO's class, higher first ('classes' only; -Infinity = the lowest). */
  cls: Float64Array;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Validates the policy against the topology. Never throws: what cannot be used is reported in `reasons`. */
export function prepareSharing(spec: SharingPolicy | undefined, tree: Tree, reasons: Reasons): Sharing | null {
  if (spec === undefined || spec === null) return null;
  if (!isRecord(spec)) {
    reasons.add('sharing is not an object, no sharing applied');
    return null;
  }
  const policy: unknown = spec.policy;
  if (policy === 'none') return null;
  if (policy !== 'proportional' && policy !== 'maxmin' && policy !== 'priority' && policy !== 'fcfs') {
    reasons.add(`sharing policy ${String(policy)} is unknown, no sharing applied`);
    return null;
  }
  const cpoOf = new Int32Array(tree.evseNode.length).fill(-1);
  const cpos: number[] = [];
  for (let e = 0; e < tree.reachableEvses; e++) {
    let top = -1;
    for (let n = tree.evseNode[e]!; n >= 0; n = tree.parent[n]!) if (tree.nodes[n]!.kind === 'cpo') top = n;
    cpoOf[e] = top;
    if (top >= 0 && !cpos.includes(top)) cpos.push(top);
  }
  const sh: Sharing = { kind: policy === 'priority' || policy === 'fcfs' ? 'classes' : policy, cpoOf, weight: new Float64Array(tree.nodes.length), cls: new Float64Array(tree.nodes.length) };
  if (policy === 'proportional' || policy === 'maxmin') readWeights(spec, tree, cpos, sh, reasons);
  else {
    for (const c of cpos) sh.weight[c] = 1;
    if (policy === 'priority') readClasses(spec, tree, cpos, sh, reasons);
    else readOrder(spec, tree, cpos, sh, reasons);
  }
  return sh;
}

/** Ids in a policy map or list that name no CPO node of the topology. */
function reportUnknown(ids: Iterable<string>, tree: Tree, what: string, reasons: Reasons): void {
  for (const id of ids) {
    const n = tree.byId.get(id);
    if (n === undefined || tree.nodes[n]!.kind !== 'cpo') reasons.add(`sharing ${what} name ${id}, which is not a CPO node of the topology: ignored`);
  }
}

function readWeights(spec: Record<string, unknown>, tree: Tree, cpos: number[], sh: Sharing, reasons: Reasons): void {
  let weights: unknown = spec.weights;
  if (weights !== undefined && !isRecord(weights)) {
    reasons.add('sharing weights are not an object, equal weights used');
    weights = undefined;
  }
  if (weights === undefined) {
    for (const c of cpos) sh.weight[c] = 1;
    return;
  }
  const map = weights as Record<string, unknown>;
  reportUnknown(Object.keys(map), tree, 'weights', reasons);
  for (const c of cpos) {
    const id = tree.nodes[c]!.id;
    const w = own(map, id) ? map[id] : undefined;
    if (typeof w === 'number' && Number.isFinite(w) && w >= 0) sh.weight[c] = w;
    else reasons.add(`sharing weight of CPO ${id} is ${w === undefined ? 'missing' : String(w)}: 0 used (no guaranteed share)`);
  }
}

function readClasses(spec: Record<string, unknown>, tree: Tree, cpos: number[], sh: Sharing, reasons: Reasons): void {
  const classes: unknown = spec.classes;
  const map = isRecord(classes) ? classes : {};
  if (!isRecord(classes)) reasons.add('sharing classes are not an object: every CPO in the same class');
  else reportUnknown(Object.keys(map), tree, 'classes', reasons);
  for (const c of cpos) {
    const id = tree.nodes[c]!.id;
    const v = own(map, id) ? map[id] : undefined;
    if (typeof v === 'number' && Number.isFinite(v)) sh.cls[c] = v;
    else {
      sh.cls[c] = Number.NEGATIVE_INFINITY;
      if (isRecord(classes)) reasons.add(`sharing class of CPO ${id} is ${v === undefined ? 'missing' : String(v)}: lowest class used`);
    }
  }
}

function readOrder(spec: Record<string, unknown>, tree: Tree, cpos: number[], sh: Sharing, reasons: Reasons): void {
  const order: unknown = spec.order;
  const list = Array.isArray(order) ? (order as unknown[]) : [];
  if (!Array.isArray(order)) reasons.add('sharing order is not an array: every CPO served alike');
  const rank = new Map<string, number>();
  list.forEach((id, i) => {
    if (typeof id !== 'string') reasons.add(`sharing order entry ${i} is not a CPO id (${String(id)}): ignored`);
    else if (rank.has(id)) reasons.add(`sharing order names CPO ${id} twice: the first place counts`);
    // Earlier asked = higher class.
    else rank.set(id, list.length - i);
  });
  reportUnknown(rank.keys(), tree, 'order', reasons);
  const missing: string[] = [];
  for (const c of cpos) {
    const id = tree.nodes[c]!.id;
    const r = rank.get(id);
    sh.cls[c] = r ?? Number.NEGATIVE_INFINITY;
    if (r === undefined) missing.push(id);
  }
  if (missing.length > 0 && Array.isArray(order)) reasons.add(`CPO(s) ${missing.join(', ')} not in the fcfs order: served last, equal among themselves`);
}

/** True when the sharing term applies in this area: at least two CPOs have a session there. */
export function areaShares(p: Problem, area: AreaRange): boolean {
  const sh = p.sharing;
  if (!sh) return false;
  let first = -1;
  for (let e = area.evLo; e < area.evHi; e++) {
    const c = sh.cpoOf[e]!;
    if (c < 0 || !p.session[e]) continue;
    if (first < 0) first = c;
    else if (c !== first) return true;
  }
  return false;
}

/**
 * The CPOs taking part in interval t of an area (those with an EVSE that has a variable then: an EV that
 * can charge, or a V2G EV that can discharge), each with its EVSEs that have one. Empty unless at least two
 * take part and their weights sum to more than 0. A discharge-only EVSE (e.g. import capped at 0 by a
 * required export) takes part so that its discharge counts against its CPO (net energy, see `sharingPenalty`).
 */
export function participants(p: Problem, area: AreaRange, t: number): Map<number, number[]> {
  const sh = p.sharing;
  const out = new Map<number, number[]>();
  if (!sh) return out;
  for (let e = area.evLo; e < area.evHi; e++) {
    const c = sh.cpoOf[e]!;
    if (c < 0 || !(columnUb(p, e, t) > 0 || dischargeUb(p, e, t) > 0)) continue;
    const list = out.get(c);
    if (list) list.push(e);
    else out.set(c, [e]);
  }
  let sumW = 0;
  for (const c of out.keys()) sumW += sh.weight[c]!;
  if (out.size < 2 || !(sumW > 0)) out.clear();
  return out;
}

/**
 * 'maxmin': per interval, SHARING_WEIGHT · Σ_{pairs i<j} |v_j · P_i − v_i · P_j|, v = w / w_min (w_min = the
 * smallest positive weight taking part; a weighted Gini mean difference of the levels P_c / w_c). Moving
 * ε kWh from CPO d to CPO c with P_c/w_c < P_d/w_d lowers the pair (c, d) by (v_c + v_d) · ε and leaves
 * every other CPO's pair terms together no higher (their changes cancel, or both fall when its level lies
 * between), so the term falls by at least (v_c + v_d) · 300 ≥ 300 per kWh: at the optimum no CPO that could
 * take more is below the level of one drawing power (exact water-filling, no segment width). Moving a
 * kWh can raise it by up to (Σ v − v_c) · 300. Pairs where both weights are 0 have no term (both levels
 * are unbounded). Dividing by w_min keeps the LP's coefficients near 1 whatever unit the weights are in.
 */
export function maxminWeights(weights: number[]): number[] {
  let min = Number.POSITIVE_INFINITY;
  for (const w of weights) if (w > 0 && w < min) min = w;
  return weights.map((w) => (w > 0 ? w / min : 0));
}

/**
 * 'classes': per interval, the rank of each class taking part counted from the top (0 for the highest
 * class present, 1 for the next one, ...); CLASS_STEP · rank per kWh of the CPO's net energy when it is
 * positive (a discharge earns no credit: otherwise a lower class could be drained in an interval where its
 * rank is high and recharged where it is low, cycling for the term). Moving a kWh from a lower to a
 * higher class lowers the term by at least CLASS_STEP; ranks only count the classes taking part, so an
 * interval with k classes costs at most (k − 1) · CLASS_STEP per kWh.
 */
export function classRanks(classes: number[]): number[] {
  const distinct = [...new Set(classes)].sort((a, b) => b - a);
  return classes.map((c) => distinct.indexOf(c));
}

/** The sharing term of one interval, from each participating CPO's weight, class and net energy (kWh, p − q). */
export function intervalPenalty(kind: SharingKind, weights: number[], classes: number[], kwh: number[]): number {
  const n = kwh.length;
  if (kind === 'proportional') {
    let sumW = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      sumW += weights[i]!;
      total += kwh[i]!;
    }
    let short = 0;
    // A CPO of weight 0 is entitled to nothing (no row in the LP): its net energy below 0 (a discharge) is
    // no shortfall.
    for (let i = 0; i < n; i++) if (weights[i]! > 0) short += Math.max(0, (weights[i]! / sumW) * total - kwh[i]!);
    return SHARING_WEIGHT * short;
  }
  if (kind === 'maxmin') {
    const v = maxminWeights(weights);
    let gini = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) gini += Math.abs(v[j]! * kwh[i]! - v[i]! * kwh[j]!);
    return SHARING_WEIGHT * gini;
  }
  const rank = classRanks(classes);
  let z = 0;
  for (let i = 0; i < n; i++) z += CLASS_STEP * rank[i]! * Math.max(0, kwh[i]!);
  return z;
}

/** Most the cycling guard weighs per kWh (0.1 × the required-export penalty, which it must stay far below). */
export const CYCLING_GUARD_CAP = 10_000;

/**
 * The cycling guard of an area with a sharing term (per kWh discharged, 0 elsewhere): 2 × the most the
 * sharing term can change per kWh of one CPO's net energy in one of its intervals, i.e. 2 × max_t of
 * SHARING_WEIGHT ('proportional': ∂/∂P_c of Σ_d max(0, s_d·X − P_d) lies in [−1, 1]), SHARING_WEIGHT · Σ v
 * ('maxmin': ∂/∂P_c of the pair sum is Σ_{j≠c} ±v_j) or CLASS_STEP · (classes taking part − 1) ('classes').
 * Why: net counting alone still let the LP cycle across intervals (charge a V2G EV where its CPO is below
 * its share, discharge it where the CPO is above, lowering X there): one kWh cycled changes the term by at
 * most that maximum at each end, so a discharge that costs the guard on top of the wear never pays for
 * fairness. Taking the last charge before a discharge (or the first after it) out with it keeps the SoC
 * and the net energy feasible, so at the optimum nothing is discharged in a sharing area beyond what
 * required exports ask (100 000/kWh, far above the guard): no price arbitrage there either (≤ 11/kWh).
 * Capped at CYCLING_GUARD_CAP (reached only by 'maxmin' with Σ weights / the smallest weight above 16).
 */
export function cyclingGuard(p: Problem, area: AreaRange): number {
  const sh = p.sharing;
  if (!sh || !areaShares(p, area)) return 0;
  let most = 0;
  for (let t = 0; t < p.count; t++) {
    const part = participants(p, area, t);
    if (part.size === 0) continue;
    const cpos = [...part.keys()];
    let d: number;
    if (sh.kind === 'proportional') d = SHARING_WEIGHT;
    else if (sh.kind === 'maxmin') d = SHARING_WEIGHT * maxminWeights(cpos.map((c) => sh.weight[c]!)).reduce((a, b) => a + b, 0);
    else d = CLASS_STEP * (new Set(cpos.map((c) => sh.cls[c]!)).size - 1);
    if (d > most) most = d;
  }
  return Math.min(CYCLING_GUARD_CAP, 2 * most);
}

/**
 * The sharing term of the objective on `values[e * count + t]` (kW, net: negative = discharge), exactly
 * what lp/sharing-rows.ts makes the LP minimise (report.ts `planObjective` and the monolithic comparison
 * rely on it), plus the cycling guard on discharge (`cyclingGuard`). Energy is in kWh per interval (kW · Δt ·
 * covered share): a partly covered interval delivers less per kW. With V2G it is net energy p − q: charging an EV only to discharge it again (cycling) adds
 * nothing to its CPO's energy in an interval, so it cannot buy fairness (counting gross p, the LP did
 * exactly that: an EV that wanted nothing charged in one interval and discharged in the next to fill its
 * CPO's share, test/unit/optimizer/sharing-v2g.test.ts).
 */
export function sharingPenalty(p: Problem, values: Float64Array): number {
  const sh = p.sharing;
  if (!sh || !p.valid) return 0;
  const T = p.count;
  let z = 0;
  for (const area of p.tree.roots) {
    if (!areaShares(p, area)) continue;
    const guard = cyclingGuard(p, area);
    for (let e = area.evLo; e < area.evHi && guard > 0; e++) {
      const s = p.session[e];
      if (!s?.v2g) continue;
      for (let t = s.t0; t < s.t1; t++) if (values[e * T + t]! < 0) z -= guard * values[e * T + t]! * p.dtH * s.frac[t]!;
    }
    for (let t = 0; t < T; t++) {
      const part = participants(p, area, t);
      if (part.size === 0) continue;
      const weights: number[] = [];
      const classes: number[] = [];
      const kwh: number[] = [];
      for (const [c, evs] of part) {
        let x = 0;
        for (const e of evs) x += values[e * T + t]! * p.dtH * p.session[e]!.frac[t]!;
        weights.push(sh.weight[c]!);
        classes.push(sh.cls[c]!);
        kwh.push(x);
      }
      z += intervalPenalty(sh.kind, weights, classes, kwh);
    }
  }
  return z;
}
