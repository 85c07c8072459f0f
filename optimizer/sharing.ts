import type { SharingPolicy } from './model.ts';
import type { Problem } from './prepare.ts';
import type { Reasons } from './reasons.ts';
import type { AreaRange, Tree } from './topology.ts';
import { columnUb } from './lp/columns.ts';

/**
 * Penalty per kWh a CPO falls short of its proportional share in an interval. Below the
 * unmet-energy penalty (1000/kWh), so no kWh is ever given up for fairness; above the largest urgency
 * difference between two sessions (100/kWh) plus the cost and tie-breaker range (11/kWh), so within an
 * interval power goes to the CPO below its share first (docs/optimizer.md, "Sharing").
 */
export const SHARING_WEIGHT = 300;

/** The sharing policy after validation ('proportional'; 'maxmin' is not built yet and maps to it). */
export interface Sharing {
  /** Per EVSE index: the node index of the topmost CPO above it, or -1 (takes no part). */
  cpoOf: Int32Array;
  /** Per node index: the CPO's weight (0 for other nodes). */
  weight: Float64Array;
}

export function prepareSharing(spec: SharingPolicy | undefined, tree: Tree, reasons: Reasons): Sharing | null {
  if (spec === undefined || spec === null) return null;
  if (typeof spec !== 'object') {
    reasons.add('sharing is not an object, no sharing applied');
    return null;
  }
  const policy = spec.policy;
  if (policy === 'none') return null;
  if (policy !== 'proportional' && policy !== 'maxmin') {
    reasons.add(`sharing policy ${String(policy)} is unknown, no sharing applied`);
    return null;
  }
  if (policy === 'maxmin') reasons.add('sharing policy maxmin is not built yet, proportional used');
  let weights = spec.weights;
  if (weights !== undefined && (weights === null || typeof weights !== 'object')) {
    reasons.add('sharing weights are not an object, equal weights used');
    weights = undefined;
  }
  const cpoOf = new Int32Array(tree.evseNode.length).fill(-1);
  const weight = new Float64Array(tree.nodes.length);
  const seen = new Set<number>();
  for (let e = 0; e < tree.reachableEvses; e++) {
    let top = -1;
    for (let n = tree.evseNode[e]!; n >= 0; n = tree.parent[n]!) if (tree.nodes[n]!.kind === 'cpo') top = n;
    cpoOf[e] = top;
    if (top < 0 || seen.has(top)) continue;
    seen.add(top);
    const id = tree.nodes[top]!.id;
    if (weights === undefined) {
      weight[top] = 1;
      continue;
    }
    const w = Object.prototype.hasOwnProperty.call(weights, id) ? weights[id] : undefined;
    if (typeof w === 'number' && Number.isFinite(w) && w >= 0) weight[top] = w;
    else reasons.add(`sharing weight of CPO ${id} is ${w === undefined ? 'missing' : String(w)}: 0 used (no guaranteed share)`);
  }
  return { cpoOf, weight };
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
 * The CPOs taking part in interval t of an area (those with an EVSE that has a variable then, i.e. an EV
 * that can charge), each with its EVSEs that have one. Empty unless at least two take part and their
 * weights sum to more than 0.
 */
export function participants(p: Problem, area: AreaRange, t: number): Map<number, number[]> {
  const sh = p.sharing;
  const out = new Map<number, number[]>();
  if (!sh) return out;
  for (let e = area.evLo; e < area.evHi; e++) {
    const c = sh.cpoOf[e]!;
    if (c < 0 || !(columnUb(p, e, t) > 0)) continue;
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
 * The sharing term of the objective on `values[e * count + t]` (kW): SHARING_WEIGHT · Σ shortfalls (kWh),
 * the shortfall of CPO c in interval t being max(0, share_c · X_t − P_c,t) over the energy delivered in t.
 */
export function sharingPenalty(p: Problem, values: Float64Array): number {
  const sh = p.sharing;
  if (!sh || !p.valid) return 0;
  const T = p.count;
  let short = 0;
  for (const area of p.tree.roots) {
    if (!areaShares(p, area)) continue;
    for (let t = 0; t < T; t++) {
      const part = participants(p, area, t);
      if (part.size === 0) continue;
      let sumW = 0;
      let total = 0;
      // kWh in t: a partly covered interval delivers less per kW, so dropping power there never pays.
      const drawn = new Map<number, number>();
      for (const [c, evs] of part) {
        sumW += sh.weight[c]!;
        let kw = 0;
        for (const e of evs) kw += values[e * T + t]! * p.dtH * p.session[e]!.frac[t]!;
        drawn.set(c, kw);
        total += kw;
      }
      for (const [c, kw] of drawn) short += Math.max(0, (sh.weight[c]! / sumW) * total - kw);
    }
  }
  return SHARING_WEIGHT * short;
}
