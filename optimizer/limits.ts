import type { CapacityEnvelope } from './model.ts';
import { foldPhaseExportLimits, foldPhaseLimits } from './phases.ts';
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
      // A finite negative value asks for export (requiredExport below): no charging under the node then.
      const v = Number.isFinite(raw) && raw < 0 ? 0 : sanitize(raw, `envelope for ${env.nodeId} interval ${t}`, reasons);
      const k = i * count + t;
      if (v < lim[k]!) lim[k] = v;
    }
  }
  // Ampere limits that are exactly a kW limit (phases.ts; mixed-phase nodes get per-phase LP rows instead).
  foldPhaseLimits(tree, lim, count, reasons);
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

/**
 * Effective export limit per node and interval `[node * count + t]` (kW, a magnitude): the min of the
 * node's static `exportLimitKw` and every envelope `exportKw` for it; Infinity where nothing limits export.
 * NaN or negative values are 0 (no export), the safe reading, and reported. Export limits cap the GROSS
 * discharge under the node (docs/optimizer.md, "V2G and export").
 */
export function effectiveExportLimits(tree: Tree, envelopes: CapacityEnvelope[], count: number, reasons: Reasons): Float64Array {
  const out = new Float64Array(tree.nodes.length * count).fill(Number.POSITIVE_INFINITY);
  const clean = (v: number, what: string): number => {
    if (Number.isNaN(v) || v < 0) {
      reasons.add(`${what}: invalid export limit ${v} treated as 0 kW`);
      return 0;
    }
    return v;
  };
  tree.nodes.forEach((n, i) => {
    if (n.exportLimitKw === undefined) return;
    out.fill(clean(n.exportLimitKw, `node ${n.id}`), i * count, (i + 1) * count);
  });
  for (const env of envelopes) {
    const i = tree.byId.get(env.nodeId);
    if (i === undefined || !Array.isArray(env.exportKw)) continue;
    const n = Math.min(count, env.exportKw.length);
    for (let t = 0; t < n; t++) {
      const raw = env.exportKw[t];
      if (raw === null || raw === undefined) continue;
      const v = clean(raw, `envelope for ${env.nodeId} interval ${t}`);
      const k = i * count + t;
      if (v < out[k]!) out[k] = v;
    }
  }
  foldPhaseExportLimits(tree, out, count, reasons); // exportLimitA in kW (phases.ts)
  return out;
}

/**
 * Export the grid requires, per node and interval `[node * count + t]` (kW, 0 = none): an envelope
 * `importKw < 0` asks the node to export at least |importKw| net (the most negative envelope wins). The
 * node's import limit is then 0 (effectiveLimits), so its net flow is minus its gross discharge.
 * Empty (length 0) when no envelope asks for export, the usual case: no nodes × intervals array then.
 */
export function requiredExport(tree: Tree, envelopes: CapacityEnvelope[], count: number, reasons: Reasons): Float64Array {
  const negative = (raw: number | null | undefined): raw is number => typeof raw === 'number' && Number.isFinite(raw) && raw < 0;
  if (!envelopes.some((env) => tree.byId.has(env.nodeId) && env.importKw.slice(0, count).some(negative))) return new Float64Array(0);
  const out = new Float64Array(tree.nodes.length * count);
  let asked = 0;
  for (const env of envelopes) {
    const i = tree.byId.get(env.nodeId);
    if (i === undefined) continue;
    const n = Math.min(count, env.importKw.length);
    for (let t = 0; t < n; t++) {
      const raw = env.importKw[t];
      if (!negative(raw)) continue;
      const k = i * count + t;
      if (-raw > out[k]!) out[k] = -raw;
      asked++;
    }
  }
  if (asked > 0) reasons.add(`${asked} envelope interval(s) with a negative import limit: no charging there, and at least that much export is planned from V2G sessions (any shortfall is listed in violations)`);
  return out;
}
