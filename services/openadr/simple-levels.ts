import type { CapacityEnvelope, Horizon } from '../../optimizer/model.ts';
import { horizonEndMs, intervalStartMs } from '../../optimizer/model.ts';
import type { EnvelopeSource } from '../core/orchestrator.ts';
import type { Queryable } from '../store/db.ts';
import { loadDrSignals } from './signal-store.ts';

/** Parses OPENADR_SIMPLE_REDUCTIONS ("0,0.25,0.5,0.75") into the share removed per SIMPLE level 0..3. */
export function parseSimpleReductions(spec: string): number[] {
  const shares = spec.split(',').map((x) => Number(x.trim()));
  if (shares.length !== 4 || shares.some((x) => !Number.isFinite(x) || x < 0 || x > 1)) throw new RangeError(`bad SIMPLE reductions: ${spec}`);
  return shares;
}

/**
 * OpenADR SIMPLE (User Guide: levels 0 normal, 1 moderate, 2 high, 3 special) as capacity: while a
 * level is in force on a node, its import limit becomes its static limit × (1 − reduction[level]).
 * Where several SIMPLE events overlap, the highest level counts. A node without a static import limit
 * has nothing to reduce from: the level is ignored there (documented in docs/openadr.md).
 */
export function openadrSimpleEnvelopeSource(reductions: number[]): EnvelopeSource {
  return async (q: Queryable, nodeIds: string[], h: Horizon): Promise<CapacityEnvelope[]> => {
    const signals = await loadDrSignals(q, nodeIds, h.startMs, horizonEndMs(h), ['simple']);
    if (signals.length === 0) return [];
    const limits = await q.query<{ id: string; import_limit_kw: number | null }>(
      'SELECT id, import_limit_kw FROM topology_node WHERE id = ANY($1::text[]) AND import_limit_kw IS NOT NULL',
      [[...new Set(signals.map((s) => s.nodeId))]],
    );
    const staticKw = new Map(limits.map((r) => [r.id, Number(r.import_limit_kw)]));
    const level = new Map<string, number[]>();
    for (const s of signals) {
      if (!staticKw.has(s.nodeId)) continue;
      const lv = Math.max(0, Math.min(3, Math.round(s.value)));
      let series = level.get(s.nodeId);
      if (!series) level.set(s.nodeId, (series = Array<number>(h.count).fill(-1)));
      for (let t = 0; t < h.count; t++) {
        if (s.endMs > intervalStartMs(h, t) && s.startMs < intervalStartMs(h, t + 1)) series[t] = Math.max(series[t]!, lv);
      }
    }
    return [...level].map(([nodeId, series]) => ({
      nodeId,
      importKw: series.map((lv) => (lv < 0 ? null : staticKw.get(nodeId)! * (1 - reductions[lv]!))),
      exportKw: series.map(() => null),
    }));
  };
}
