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

interface Party {
  /** Child node, or -1 for the node's own EVSE. */
  node: number;
  weight: number;
  cap: number;
}

/**
 * Caps for idle EVSEs: per interval, the headroom left under every limit after the setpoints is split
 * top-down. At each node the amount handed down is shared in proportion to the number of idle EVSEs in
 * each child subtree, but no child gets more than it can use (its own headroom, or the sum of its EVSEs'
 * max); what a capped child cannot use goes to the others (water-filling). Shares are floored to 0.001 kW,
 * so for every node Σ caps ≤ limit. Returns caps `[e * count + t]`; non-idle positions get `kw`.
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
    for (let t = 0; t < T; t++) if (!spec.idle[e * T + t]) cap[e * T + t] = kw[e * T + t]!;
  }

  for (let t = 0; t < T; t++) {
    sumUnder(p, kw, t, used);
    for (let q = tree.preorder.length - 1; q >= 0; q--) {
      const n = tree.preorder[q]!;
      const e = tree.evseOf[n]!;
      let mine = 0;
      if (e >= 0 && spec.idle[e * T + t]) {
        const m = spec.max[e * T + t]!;
        mine = m > 0 && m >= spec.min[e * T + t]! ? m : 0;
      }
      own[n] = mine;
      let below = mine;
      let cnt = mine > 0 ? 1 : 0;
      for (const c of tree.children[n]!) {
        if (room[c]! <= 0) continue;
        below += room[c]!;
        cnt += idleCount[c]!;
      }
      const headroom = Math.max(0, lim[n * T + t]! - used[n]!);
      room[n] = Math.min(headroom, below);
      idleCount[n] = cnt;
    }
    for (const n of tree.preorder) {
      if (tree.parent[n]! < 0) give[n] = room[n]!;
      const amount = give[n]!;
      const selfShare = split(amount, own[n]!, tree.children[n]!, room, idleCount, give);
      const e = tree.evseOf[n]!;
      if (e >= 0 && spec.idle[e * T + t]) {
        const v = floorKw(Math.min(selfShare, spec.max[e * T + t]!));
        cap[e * T + t] = v >= spec.min[e * T + t]! ? v : 0;
      }
    }
  }
  return cap;
}

/** Water-fills `amount` over the node's own EVSE and its children; writes `give[child]`, returns the own share. */
function split(amount: number, own: number, children: number[], room: Float64Array, idleCount: Int32Array, give: Float64Array): number {
  const parties: Party[] = [];
  let total = 0;
  if (own > 0) {
    parties.push({ node: -1, weight: 1, cap: own });
    total += own;
  }
  for (const c of children) {
    give[c] = 0;
    if (room[c]! > 0) {
      parties.push({ node: c, weight: idleCount[c]!, cap: room[c]! });
      total += room[c]!;
    }
  }
  let selfShare = 0;
  const assign = (party: Party, v: number): void => {
    if (party.node < 0) selfShare = v;
    else give[party.node] = v;
  };
  if (total <= amount) {
    for (const party of parties) assign(party, party.cap);
    return selfShare;
  }
  parties.sort((a, b) => a.cap / a.weight - b.cap / b.weight);
  let left = amount;
  let weight = parties.reduce((s, x) => s + x.weight, 0);
  for (const party of parties) {
    const level = left / weight;
    const v = Math.min(party.cap, level * party.weight);
    assign(party, v);
    left = Math.max(0, left - v);
    weight -= party.weight;
  }
  return selfShare;
}
