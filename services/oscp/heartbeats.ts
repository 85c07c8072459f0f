import { heartbeatMessage } from '../../grid-adapters/oscp/index.ts';
import type { Db, Queryable } from '../store/db.ts';
import { enqueue } from '../store/outbox-store.ts';
import { iso } from '../store/rows.ts';

export interface HeartbeatDue {
  peerId: string;
  intervalS: number;
}

// A peer is due when the handshake is done, it asked for heartbeats (RequiredBehaviour
// heartbeat_interval) and that interval has passed since we last queued one. `$1` is now.
const DUE = `state = 'handshake_done' AND heartbeat_interval_s > 0 AND base_url IS NOT NULL AND outbound_token IS NOT NULL
  AND (heartbeat_sent_at IS NULL OR heartbeat_sent_at <= $1::timestamptz - heartbeat_interval_s * interval '1 second')`;

/** Peers whose heartbeat interval has elapsed at `nowMs` (read-only; for status and tests). */
export async function heartbeatsDue(q: Queryable, nowMs: number): Promise<HeartbeatDue[]> {
  const rows = await q.query<{ id: string; heartbeat_interval_s: number }>(`SELECT id, heartbeat_interval_s FROM oscp_peer WHERE ${DUE} ORDER BY id`, [iso(nowMs)]);
  return rows.map((r) => ({ peerId: r.id, intervalS: Number(r.heartbeat_interval_s) }));
}

/**
 * OSCP 2.0 Heartbeat: queues our heartbeat to every peer that is due, with offline_mode_at two
 * intervals ahead, and records when. The scheduler calls this every 10 s, possibly on several
 * instances at once: rows are locked with SKIP LOCKED and the condition is re-checked under the lock,
 * so a peer gets one heartbeat per interval. An undelivered older heartbeat is superseded by the new
 * one (only the latest offline_mode_at matters). Returns how many were queued.
 */
export async function enqueueHeartbeats(db: Db, nowMs: number): Promise<number> {
  return db.tx(async (q) => {
    const rows = await q.query<{ id: string; heartbeat_interval_s: number }>(
      `SELECT id, heartbeat_interval_s FROM oscp_peer WHERE ${DUE} ORDER BY id FOR UPDATE SKIP LOCKED`,
      [iso(nowMs)],
    );
    for (const r of rows) {
      await enqueue(q, {
        channel: 'oscp',
        target: r.id,
        action: 'heartbeat',
        payload: heartbeatMessage(nowMs, Number(r.heartbeat_interval_s)),
        dedupeKey: `oscp:${r.id}:heartbeat`,
      });
      await q.query('UPDATE oscp_peer SET heartbeat_sent_at = $2 WHERE id = $1', [r.id, iso(nowMs)]);
    }
    return rows.length;
  });
}
