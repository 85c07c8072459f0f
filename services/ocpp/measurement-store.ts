/**
 * Measurements (time series) written from OCPP meter values. The key is (node, measurand, time), so a
 * retransmitted meter value overwrites itself instead of failing the whole message.
 */
import type { Queryable } from '../store/db.ts';
import { iso } from '../store/rows.ts';

export interface Measurement {
  timeMs: number;
  nodeId: string;
  sessionId: string | null;
  measurand: string;
  value: number;
  unit: string;
}

export async function insertMeasurements(q: Queryable, rows: Measurement[]): Promise<number> {
  if (rows.length === 0) return 0;
  // One statement for the batch: meter values come in small groups, and a multi-row VALUES list is
  // plain SQL on both drivers. A batch may repeat a key (two samples with the same timestamp): the
  // last one wins, as ON CONFLICT cannot touch the same row twice in one statement.
  const byKey = new Map<string, Measurement>();
  for (const r of rows) byKey.set(`${r.nodeId}\u0000${r.measurand}\u0000${r.timeMs}`, r);
  const unique = [...byKey.values()];
  const params: (string | number | null)[] = [];
  const values = unique.map((r, i) => {
    params.push(iso(r.timeMs), r.nodeId, r.sessionId, r.measurand, r.value, r.unit);
    const b = i * 6;
    return `($${b + 1}::timestamptz, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}::float8, $${b + 6})`;
  });
  await q.query(
    `INSERT INTO measurement (time, node_id, session_id, measurand, value, unit) VALUES ${values.join(', ')}
     ON CONFLICT (node_id, measurand, time) DO UPDATE SET value = EXCLUDED.value, unit = EXCLUDED.unit, session_id = EXCLUDED.session_id`,
    params,
  );
  return unique.length;
}

export async function listMeasurements(
  q: Queryable,
  nodeId: string,
  measurand: string,
): Promise<{ timeMs: number; value: number; unit: string; sessionId: string | null }[]> {
  const rows = await q.query<{ time: Date | string; value: number; unit: string; session_id: string | null }>(
    `SELECT time, value, unit, session_id FROM measurement WHERE node_id = $1 AND measurand = $2 ORDER BY time`,
    [nodeId, measurand],
  );
  return rows.map((r) => ({ timeMs: new Date(r.time).getTime(), value: Number(r.value), unit: r.unit, sessionId: r.session_id }));
}
