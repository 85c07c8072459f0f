import type { Problem } from './prepare.ts';
import { floorKw, sumUnder } from './rounding.ts';

/**
 * Which (EVSE, interval) positions take a share of the headroom, and within which bounds.
 * `idle[e * count + t]` = 1 for a share; elsewhere the cap is the setpoint itself.
 */
export interface ShareSpec {
  idle: Uint8Array;
  /** Most a share may be (kW): the EVSE max, min'd with the session max where a session is present. */
  max: Float64Array;
  /** A share under this is useless (the charger cannot run) and becomes 0. */
  min: Float64Array;
}

/** Parties of one split: child node (or -1 for the node's own EVSE), weight (idle EVSEs), cap. */
interface Scratch {
  node: Int32Array;
  weight: Float64Array;
  cap: Float64Array;
  order: Int32Array;
}

function newScratch(n: number): Scratch {
  return { node: new Int32Array(n), weight: new Float64Array(n), cap: new Float64Array(n), order: new Int32Array(n) };
}

let scratch = newScratch(64);

/**
 * Caps for idle EVSEs: per interval, the headroom left under every limit after the setpoints is split
 * top-down. At each node the amount handed down is shared in proportion to the number of idle EVSEs in
 * each child subtree, but no child gets more than it can use (its own headroom, or the sum of its EVSEs'
 * max); what a capped child cannot use goes to the others (water-filling). Shares are floored to 0.001 kW,
 * so for every node Σ caps ≤ limit. Returns caps `[e * count + t]`; non-idle positions get max(0, kw).
 */
export function shareHeadroom(p: Problem, kw: Float64Array, spec: ShareSpec): Float64Array {
  const { count: T, tree, lim } = p;
  const cap = new Float64Array(kw.length);
  const nNodes = tree.nodes.length;
  const used = new Float64Array(nNodes);
  const room = new Float64Array(nNodes);
  const own = new Float64Array(nNodes);
  const idleCount = new Int32Array(nNodes);
  const give = new Float64Array(nNodes);
  for (let e = 0; e < tree.reachableEvses; e++) {
    // A discharging EVSE (kw < 0) may draw nothing: cap 0 (its export cap is exportCapKw).
    for (let t = 0; t < T; t++) if (!spec.idle[e * T + t]) cap[e * T + t] = Math.max(0, kw[e * T + t]!);
  }

  const below = new Float64Array(nNodes);
  const pre = tree.preorder;
  for (let t = 0; t < T; t++) {
    sumUnder(p, kw, t, used, 'import');
    // Bottom-up: children come after their parent in preorder, so a backward pass that adds each node
    // into its parent has every child's room in `below` before the parent is reached.
    for (let q = 0; q < pre.length; q++) {
      const n = pre[q]!;
      const e = tree.evseOf[n]!;
      let mine = 0;
      if (e >= 0 && spec.idle[e * T + t]) {
        const m = spec.max[e * T + t]!;
        mine = m > 0 && m >= spec.min[e * T + t]! ? m : 0;
      }
      own[n] = mine;
      below[n] = mine;
      idleCount[n] = mine > 0 ? 1 : 0;
    }
    for (let q = pre.length - 1; q >= 0; q--) {
      const n = pre[q]!;
      const headroom = Math.max(0, lim[n * T + t]! - used[n]!);
      room[n] = Math.min(headroom, below[n]!);
      const parent = tree.parent[n]!;
      if (parent >= 0 && room[n]! > 0) {
        below[parent]! += room[n]!;
        idleCount[parent]! += idleCount[n]!;
      }
    }
    handOut(p, t, spec, { room, own, idleCount, give }, cap);
  }
  return cap;
}

/** Top-down hand-out for one interval: each node splits what it was given among its EVSE and children. */
function handOut(p: Problem, t: number, spec: ShareSpec, w: { room: Float64Array; own: Float64Array; idleCount: Int32Array; give: Float64Array }, cap: Float64Array): void {
  const { count: T, tree } = p;
  const { room, own, idleCount, give } = w;
  const pre = tree.preorder;
  for (let q = 0; q < pre.length; q++) {
    const n = pre[q]!;
    if (tree.parent[n]! < 0) give[n] = room[n]!;
    const selfShare = split(give[n]!, own[n]!, tree.children[n]!, room, idleCount, give);
    const e = tree.evseOf[n]!;
    if (e >= 0 && spec.idle[e * T + t]) {
      const v = floorKw(Math.min(selfShare, spec.max[e * T + t]!));
      cap[e * T + t] = v >= spec.min[e * T + t]! ? v : 0;
    }
  }
}

/**
 * Water-fills `amount` over the node's own EVSE and its children; writes `give[child]`, returns the own share.
 * Runs for every node and interval, so the common case (enough for everyone) allocates nothing.
 */
function split(amount: number, own: number, children: number[], room: Float64Array, idleCount: Int32Array, give: Float64Array): number {
  let total = own > 0 ? own : 0;
  const nc = children.length;
  for (let i = 0; i < nc; i++) {
    const c = children[i]!;
    const v = room[c]!;
    give[c] = 0;
    if (v > 0) total += v;
  }
  if (total <= amount) {
    for (let i = 0; i < nc; i++) {
      const c = children[i]!;
      if (room[c]! > 0) give[c] = room[c]!;
    }
    return own > 0 ? own : 0;
  }
  return waterFill(amount, own, children, room, idleCount, give);
}

/**
 * Scarce: parties by cap / weight, smallest first; each gets its weighted share of what is left, or its cap
 * if that is smaller. Scratch arrays instead of objects: this runs for every scarce node and interval. Kept
 * apart from split(): inside it, V8 kept deoptimising (millions of times at 10 000 sites) on this path.
 */
function waterFill(amount: number, own: number, children: number[], room: Float64Array, idleCount: Int32Array, give: Float64Array): number {
  const m = children.length + 1;
  if (scratch.node.length < m) scratch = newScratch(2 * m);
  const { node, weight, cap, order } = scratch;
  let k = 0;
  if (own > 0) {
    node[k] = -1;
    weight[k] = 1;
    cap[k++] = own;
  }
  for (const c of children) {
    if (!(room[c]! > 0)) continue;
    node[k] = c;
    weight[k] = idleCount[c]!;
    cap[k++] = room[c]!;
  }
  // No closures here: this is the hot path (and tsx wraps every named function in a helper call).
  for (let i = 0; i < k; i++) order[i] = i;
  if (k <= 32) {
    for (let i = 1; i < k; i++) {
      const v = order[i]!;
      const rv = cap[v]! / weight[v]!;
      let j = i - 1;
      while (j >= 0 && cap[order[j]!]! / weight[order[j]!]! > rv) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = v;
    }
  } else {
    order.subarray(0, k).sort((a, b) => cap[a]! / weight[a]! - cap[b]! / weight[b]!);
  }
  let selfShare = 0;
  let left = amount;
  let total2 = 0;
  for (let i = 0; i < k; i++) total2 += weight[i]!;
  for (let i = 0; i < k; i++) {
    const q = order[i]!;
    const level = left / total2;
    const v = Math.min(cap[q]!, level * weight[q]!);
    if (node[q]! < 0) selfShare = v;
    else give[node[q]!] = v;
    left = Math.max(0, left - v);
    total2 -= weight[q]!;
  }
  return selfShare;
}
