import type { CapacityEnvelope, Horizon } from '../../optimizer/model.ts';
import { horizonEndMs } from '../../optimizer/model.ts';
import { BEGINNING_OF_TIME_MS, eventSignals, signalsToEnvelopes, type DrSignal, type EventRequest, type NodeSignal, type SignalKind } from '../../grid-adapters/openadr3/index.ts';
import type { EnvelopeSource } from '../core/orchestrator.ts';
import type { Queryable } from '../store/db.ts';
import { toMs } from '../store/rows.ts';

/**
 * DR signals derived from OpenADR events (table dr_signal), read by the orchestrator as capacity
 * envelopes (openadrEnvelopeSource) and by the price-aware optimizer (loadDrSignals).
 *
 * Open-ended times: an unbounded end (P9999Y) is stored as FAR_FUTURE; both drivers return it as a
 * Date and it is mapped back to Infinity.
 */
const FAR_FUTURE_ISO = '9999-12-31T00:00:00.000Z';
const FAR_FUTURE_MS = Date.parse(FAR_FUTURE_ISO);

function isoOrFar(ms: number): string {
  if (ms >= FAR_FUTURE_MS || ms === Infinity) return FAR_FUTURE_ISO;
  // PostgreSQL has no year 0: 'the beginning of time' (0001-01-01) is the earliest we store.
  return new Date(Math.max(ms, BEGINNING_OF_TIME_MS)).toISOString();
}

export interface StoreSignalsResult {
  count: number;
  skipped: string[];
}

/**
 * Replaces the signals of one event for one node (call inside the transaction that stores the event).
 * `nowMs` resolves 'do it now' intervals (the event's modification time); `untilMs` bounds looping.
 */
export async function replaceEventSignals(
  q: Queryable,
  s: { source: string; eventId: string; nodeId: string; gridAreaId: string; event: EventRequest; nowMs: number; untilMs: number },
): Promise<StoreSignalsResult> {
  await q.query('DELETE FROM dr_signal WHERE source = $1 AND event_id = $2', [s.source, s.eventId]);
  const { signals, skipped } = eventSignals(s.event, { nowMs: s.nowMs, untilMs: s.untilMs });
  // Overlapping slots of one kind (same start) keep the lowest value; the primary key needs one row.
  const byKey = new Map<string, DrSignal>();
  for (const sig of signals) {
    const k = `${sig.kind}|${sig.startMs}`;
    const cur = byKey.get(k);
    if (!cur || sig.value < cur.value) byKey.set(k, sig);
  }
  const rows = [...byKey.values()];
  if (rows.length > 0) {
    await q.query(
      `INSERT INTO dr_signal (source, event_id, node_id, grid_area_id, kind, start_at, end_at, value, unit, priority)
       SELECT $1, $2, $3, $4, k, st, en, v, u, $9 FROM unnest($5::text[], $6::timestamptz[], $7::timestamptz[], $8::float8[], $10::text[]) AS t(k, st, en, v, u)`,
      [
        s.source,
        s.eventId,
        s.nodeId,
        s.gridAreaId,
        rows.map((r) => r.kind),
        rows.map((r) => isoOrFar(r.startMs)),
        rows.map((r) => isoOrFar(r.endMs)),
        rows.map((r) => r.value),
        s.event.priority ?? null,
        rows.map((r) => r.unit ?? ''),
      ],
    );
  }
  return { count: rows.length, skipped };
}

export async function deleteEventSignals(q: Queryable, source: string, eventId: string): Promise<string[]> {
  const rows = await q.query<{ grid_area_id: string }>('DELETE FROM dr_signal WHERE source = $1 AND event_id = $2 RETURNING grid_area_id', [source, eventId]);
  return [...new Set(rows.map((r) => r.grid_area_id))];
}

interface SignalRow {
  node_id: string;
  kind: SignalKind;
  start_at: Date;
  end_at: Date;
  value: number;
  unit: string | null;
}

/**
 * The DR signals of the given nodes overlapping [fromMs, toMs), without those of events a node opted
 * out of. For the optimizer's price support: kinds 'price', 'export_price', 'simple'.
 */
export async function loadDrSignals(q: Queryable, nodeIds: string[], fromMs: number, toMs_: number, kinds?: SignalKind[]): Promise<NodeSignal[]> {
  if (nodeIds.length === 0) return [];
  const rows = await q.query<SignalRow>(
    `SELECT s.node_id, s.kind, s.start_at, s.end_at, s.value, NULLIF(s.unit, '') AS unit FROM dr_signal s
     WHERE s.node_id = ANY($1::text[]) AND s.end_at > $2 AND s.start_at < $3 AND ($4::text[] IS NULL OR s.kind = ANY($4::text[]))
       AND NOT EXISTS (SELECT 1 FROM dr_opt_out o WHERE o.event_id = s.event_id AND o.node_id = s.node_id)
     ORDER BY s.node_id, s.kind, s.start_at`,
    [nodeIds, new Date(fromMs).toISOString(), isoOrFar(toMs_), kinds ?? null],
  );
  return rows.map((r) => {
    const end = toMs(r.end_at);
    return { nodeId: r.node_id, kind: r.kind, startMs: toMs(r.start_at), endMs: end >= FAR_FUTURE_MS ? Infinity : end, value: Number(r.value), unit: r.unit };
  });
}

/** EnvelopeSource for the orchestrator: IMPORT/EXPORT_CAPACITY_LIMIT events → capacity envelopes. */
export const openadrEnvelopeSource: EnvelopeSource = async (q: Queryable, nodeIds: string[], h: Horizon): Promise<CapacityEnvelope[]> => {
  const signals = await loadDrSignals(q, nodeIds, h.startMs, horizonEndMs(h), ['import_limit', 'export_limit']);
  return signalsToEnvelopes(signals, h);
};

/**
 * Opt-out (OpenADR 3 has none): the node does not follow the event; its signals stop applying there.
 * Returns the node's grid area (to re-optimize) or undefined when the node does not exist.
 */
export async function optOutOfEvent(q: Queryable, o: { eventId: string; nodeId: string; source: string }): Promise<string | undefined> {
  const [n] = await q.query<{ grid_area_id: string }>('SELECT grid_area_id FROM topology_node WHERE id = $1', [o.nodeId]);
  if (!n) return undefined;
  await q.query('INSERT INTO dr_opt_out (event_id, node_id, source) VALUES ($1,$2,$3) ON CONFLICT (event_id, node_id) DO NOTHING', [o.eventId, o.nodeId, o.source]);
  return n.grid_area_id;
}

export async function cancelOptOut(q: Queryable, eventId: string, nodeId: string): Promise<boolean> {
  const rows = await q.query('DELETE FROM dr_opt_out WHERE event_id = $1 AND node_id = $2 RETURNING event_id', [eventId, nodeId]);
  return rows.length > 0;
}
