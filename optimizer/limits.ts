import type { CapacityEnvelope } from './model.ts';
import type { Reasons } from './reasons.ts';
import type { Tree } from './topology.ts';

/**
 * A limit that is NaN or negative cannot be honoured by any setpoint except 0; treating it as "no limit"
 * would be the unsafe reading of a corrupt value, so it becomes 0 and is reported.
 */
function sanitize(v: number, what: string, reasons: Reasons): number {
  if (Number.isNaN(v) || v < 0) {
    reasons.add(`${what}: invalid import limit ${v} treated as 0 kW`);
    return 0;
  }
  return v;
}

/**
 * Effective import limit per node and interval, as a flat array `[node * count + t]`:
 * the min of the node's static limit and every envelope for it that has a value in that interval.
 * `Infinity` where nothing limits the node.
 */
export function effectiveLimits(tree: Tree, envelopes: CapacityEnvelope[], count: number, reasons: Reasons): Float64Array {
  const lim = new Float64Array(tree.nodes.length * count).fill(Number.POSITIVE_INFINITY);
  tree.nodes.forEach((n, i) => {
    if (n.importLimitKw === undefined) return;
    const v = sanitize(n.importLimitKw, `node ${n.id}`, reasons);
    lim.fill(v, i * count, (i + 1) * count);
  });
  for (const env of envelopes) {
    const i = tree.byId.get(env.nodeId);
    if (i === undefined) {
      reasons.add(`envelope for unknown node ${env.nodeId} ignored`);
      continue;
    }
    if (env.importKw.length < count) {
      reasons.add(`envelope for ${env.nodeId} covers ${env.importKw.length} of ${count} intervals; the rest has only the static limit`);
    }
    const n = Math.min(count, env.importKw.length);
    for (let t = 0; t < n; t++) {
      const raw = env.importKw[t];
      if (raw === null || raw === undefined) continue;
      const v = sanitize(raw, `envelope for ${env.nodeId} interval ${t}`, reasons);
      const k = i * count + t;
      if (v < lim[k]!) lim[k] = v;
    }
  }
  return lim;
}

/**
 * The tightest limit on the path from each reachable node up to its root (node included), `[node * count + t]`.
 * An EVSE can never draw more than this, whatever the others do, so it bounds its LP variable directly.
 */
export function pathLimits(tree: Tree, lim: Float64Array, count: number): Float64Array {
  const out = new Float64Array(lim.length).fill(Number.POSITIVE_INFINITY);
  for (const n of tree.preorder) {
    const p = tree.parent[n]!;
    const base = n * count;
    if (p < 0) {
      out.set(lim.subarray(base, base + count), base);
      continue;
    }
    const pb = p * count;
    for (let t = 0; t < count; t++) out[base + t] = Math.min(lim[base + t]!, out[pb + t]!);
  }
  return out;
}
