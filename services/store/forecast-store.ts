import type { CapacityEnvelope, Horizon } from '../../optimizer/model.ts';
import { intervalStartMs } from '../../optimizer/model.ts';
import type { Queryable } from './db.ts';
import { iso, toMs } from './rows.ts';

export type ForecastType = 'CONSUMPTION' | 'GENERATION' | 'FALLBACK_CONSUMPTION' | 'FALLBACK_GENERATION' | 'OPTIMUM';

export interface ForecastBlockKw {
  startMs: number;
  endMs: number;
  kw: number;
}

export interface NewForecast {
  nodeId: string;
  source: string;
  type: ForecastType;
  requestId?: string | null;
  raw?: unknown;
  blocks: ForecastBlockKw[];
}

/** Stores one forecast message and its blocks (call inside the transaction that acknowledges it). */
export async function saveForecast(q: Queryable, f: NewForecast): Promise<number> {
  const [row] = await q.query<{ id: number }>(
    'INSERT INTO forecast (node_id, source, type, request_id, raw) VALUES ($1,$2,$3,$4,$5) RETURNING id',
    [f.nodeId, f.source, f.type, f.requestId ?? null, f.raw === undefined ? null : JSON.stringify(f.raw)],
  );
  const id = Number(row!.id);
  if (f.blocks.length > 0) {
    // One multi-row insert per message: unnest keeps it a single round trip on both drivers.
    await q.query(
      `INSERT INTO forecast_block (forecast_id, node_id, type, start_at, end_at, kw)
       SELECT $1, $2, $3, s, e, k FROM unnest($4::timestamptz[], $5::timestamptz[], $6::float8[]) AS t(s, e, k)`,
      [id, f.nodeId, f.type, f.blocks.map((b) => iso(b.startMs)), f.blocks.map((b) => iso(b.endMs)), f.blocks.map((b) => b.kw)],
    );
  }
  return id;
}

interface BlockRow {
  forecast_id: number;
  node_id: string;
  type: ForecastType;
  start_at: Date;
  end_at: Date;
  kw: number;
}

/**
 * The capacity envelopes of `nodeIds` over the horizon. For each interval the newest forecast that
 * covers it wins; within that forecast the lowest block overlapping the interval applies (a block
 * shorter than an interval must not be exceeded anywhere inside it).
 * `importType`/`exportType` choose normal or FALLBACK forecasts.
 */
export async function loadEnvelopes(
  q: Queryable,
  nodeIds: string[],
  h: Horizon,
  opts: { importType?: ForecastType; exportType?: ForecastType } = {},
): Promise<CapacityEnvelope[]> {
  if (nodeIds.length === 0) return [];
  const importType = opts.importType ?? 'CONSUMPTION';
  const exportType = opts.exportType ?? 'GENERATION';
  const from = h.startMs;
  const to = intervalStartMs(h, h.count);
  const rows = await q.query<BlockRow>(
    `SELECT forecast_id, node_id, type, start_at, end_at, kw FROM forecast_block
     WHERE node_id = ANY($1::text[]) AND type = ANY($2::text[]) AND end_at > $3 AND start_at < $4
     ORDER BY forecast_id DESC`,
    [nodeIds, [importType, exportType], iso(from), iso(to)],
  );
  const byNode = new Map<string, CapacityEnvelope>();
  const newest = new Map<string, number[]>();
  for (const r of rows) {
    let env = byNode.get(r.node_id);
    if (!env) {
      env = { nodeId: r.node_id, importKw: Array<number | null>(h.count).fill(null), exportKw: Array<number | null>(h.count).fill(null) };
      byNode.set(r.node_id, env);
    }
    const isImport = r.type === importType;
    const key = `${r.node_id}|${isImport ? 'i' : 'e'}`;
    let owner = newest.get(key);
    if (!owner) newest.set(key, (owner = Array<number>(h.count).fill(-1)));
    const series = isImport ? env.importKw : env.exportKw;
    const s = toMs(r.start_at);
    const e = toMs(r.end_at);
    const step = h.intervalMinutes * 60_000;
    const first = Math.max(0, Math.floor((s - from) / step));
    const last = Math.min(h.count - 1, Math.ceil((e - from) / step) - 1);
    for (let t = first; t <= last; t++) {
      // rows come newest first: an interval already claimed by a newer forecast stays with it
      if (owner[t] !== -1 && owner[t] !== r.forecast_id) continue;
      owner[t] = r.forecast_id;
      const cur = series[t];
      series[t] = cur === null || cur === undefined ? r.kw : Math.min(cur, r.kw);
    }
  }
  return [...byNode.values()];
}

/** The newest forecast per type for a node, for the API and the status page. */
export async function latestForecasts(q: Queryable, nodeId: string): Promise<{ id: number; type: ForecastType; source: string; receivedAt: string; blocks: ForecastBlockKw[] }[]> {
  const heads = await q.query<{ id: number; type: ForecastType; source: string; received_at: Date }>(
    `SELECT DISTINCT ON (type) id, type, source, received_at FROM forecast WHERE node_id = $1 ORDER BY type, id DESC`,
    [nodeId],
  );
  const out = [];
  for (const h of heads) {
    const blocks = await q.query<{ start_at: Date; end_at: Date; kw: number }>(
      'SELECT start_at, end_at, kw FROM forecast_block WHERE forecast_id = $1 ORDER BY start_at',
      [h.id],
    );
    out.push({
      id: Number(h.id),
      type: h.type,
      source: h.source,
      receivedAt: new Date(toMs(h.received_at)).toISOString(),
      blocks: blocks.map((b) => ({ startMs: toMs(b.start_at), endMs: toMs(b.end_at), kw: b.kw })),
    });
  }
  return out;
}
