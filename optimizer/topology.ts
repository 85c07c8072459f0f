import type { TopologyNode } from './model.ts';
import type { Reasons } from './reasons.ts';

/**
 * The topology as flat index arrays. Nodes are numbered in input order (first occurrence of an id);
 * `preorder` lists the reachable ones so that every subtree, and so every grid area, is one contiguous
 * run. EVSEs are numbered in preorder too, which makes "the EVSEs under node n" the index range
 * [evLo[n], evHi[n]): sums over a subtree are then a loop over a range, never a search.
 */
export interface Tree {
  nodes: TopologyNode[];
  byId: Map<string, number>;
  /** -1 for a root and for a node whose parent is unknown. */
  parent: Int32Array;
  children: number[][];
  reachable: Uint8Array;
  preorder: Int32Array;
  /** Position of each reachable node in `preorder`; -1 if unreachable. */
  pos: Int32Array;
  /** Number of nodes in the subtree (reachable nodes only). */
  size: Int32Array;
  roots: AreaRange[];
  /** EVSE index → node index. Reachable EVSEs first (in preorder), then unreachable ones. */
  evseNode: Int32Array;
  /** Node index → EVSE index, or -1. */
  evseOf: Int32Array;
  evLo: Int32Array;
  evHi: Int32Array;
  reachableEvses: number;
}

/** One grid area (a root) and the contiguous ranges it covers. */
export interface AreaRange {
  node: number;
  /** Preorder positions [lo, hi). */
  lo: number;
  hi: number;
  /** EVSE indices [evLo, evHi). */
  evLo: number;
  evHi: number;
}

/**
 * Any node with `parentId: null` is a root (normally a grid area). Nodes whose parent is unknown, or that
 * sit on a cycle, are unreachable: no limit above them is known, so their EVSEs get 0 kW (safe).
 */
export function buildTree(input: TopologyNode[], reasons: Reasons): Tree {
  const nodes: TopologyNode[] = [];
  const byId = new Map<string, number>();
  for (const n of input) {
    if (byId.has(n.id)) {
      reasons.add(`duplicate node id ${n.id}: the first definition is used`);
      continue;
    }
    byId.set(n.id, nodes.length);
    nodes.push(n);
  }
  const count = nodes.length;
  const parent = new Int32Array(count).fill(-1);
  const children: number[][] = nodes.map(() => []);
  const rootIdx: number[] = [];
  nodes.forEach((n, i) => {
    if (n.parentId === null || n.parentId === undefined) {
      rootIdx.push(i);
      return;
    }
    const p = byId.get(n.parentId);
    if (p === undefined || p === i) return;
    parent[i] = p;
    children[p]!.push(i);
  });

  const reachable = new Uint8Array(count);
  const preorder: number[] = [];
  const pos = new Int32Array(count).fill(-1);
  const stack: number[] = [];
  for (const r of rootIdx) {
    stack.push(r);
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (reachable[n]) continue;
      reachable[n] = 1;
      pos[n] = preorder.length;
      preorder.push(n);
      const ch = children[n]!;
      for (let k = ch.length - 1; k >= 0; k--) stack.push(ch[k]!);
    }
  }
  const unreachable = count - preorder.length;
  if (unreachable > 0) {
    const sample = nodes.filter((_, i) => !reachable[i]).slice(0, 3).map((n) => n.id);
    reasons.add(`${unreachable} node(s) not under any root (unknown parent or cycle), their EVSEs get 0 kW: ${sample.join(', ')}`);
  }

  const evseOf = new Int32Array(count).fill(-1);
  const evseNode: number[] = [];
  const evLo = new Int32Array(count);
  for (const n of preorder) {
    evLo[n] = evseNode.length;
    if (nodes[n]!.kind === 'evse') {
      evseOf[n] = evseNode.length;
      evseNode.push(n);
    }
  }
  const reachableEvses = evseNode.length;
  nodes.forEach((n, i) => {
    if (!reachable[i] && n.kind === 'evse') {
      evseOf[i] = evseNode.length;
      evseNode.push(i);
    }
  });

  const size = new Int32Array(count);
  const evHi = new Int32Array(count);
  for (let k = preorder.length - 1; k >= 0; k--) {
    const n = preorder[k]!;
    let s = 1;
    let e = evLo[n]! + (evseOf[n]! >= 0 ? 1 : 0);
    for (const c of children[n]!) {
      s += size[c]!;
      e = Math.max(e, evHi[c]!);
    }
    size[n] = s;
    evHi[n] = e;
  }

  const roots: AreaRange[] = rootIdx.map((r) => ({ node: r, lo: pos[r]!, hi: pos[r]! + size[r]!, evLo: evLo[r]!, evHi: evHi[r]! }));
  return {
    nodes, byId, parent, children, reachable, preorder: Int32Array.from(preorder), pos, size, roots,
    evseNode: Int32Array.from(evseNode), evseOf, evLo, evHi, reachableEvses,
  };
}
