import type { Queryable } from './db.ts';

export type OutboxChannel = 'ocpp' | 'oscp' | 'mqtt' | 'openadr';
export type OutboxState = 'pending' | 'in_flight' | 'acked' | 'rejected' | 'failed' | 'superseded';

export interface OutboxMessage {
  channel: OutboxChannel;
  /** Station id (ocpp), peer id (oscp) or topic (mqtt). */
  target: string;
  action: string;
  payload: unknown;
  /** A newer message with the same key supersedes older undelivered ones (e.g. one profile slot of a station). */
  dedupeKey?: string;
  runId?: number;
}

export interface OutboxRow extends OutboxMessage {
  id: number;
  state: OutboxState;
  attempts: number;
  createdAt: Date;
}

/** Enqueues a message inside the caller's transaction, superseding older undelivered ones with the same key. */
export async function enqueue(q: Queryable, m: OutboxMessage): Promise<number> {
  if (m.dedupeKey) {
    await q.query(
      `UPDATE outbox SET state = 'superseded', updated_at = now() WHERE dedupe_key = $1 AND state IN ('pending','in_flight')`,
      [m.dedupeKey],
    );
  }
  const [row] = await q.query<{ id: number }>(
    `INSERT INTO outbox (channel, target, action, payload, dedupe_key, run_id) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id`,
    [m.channel, m.target, m.action, JSON.stringify(m.payload), m.dedupeKey ?? null, m.runId ?? null],
  );
  return Number(row!.id);
}

/**
 * Enqueues many messages in two statements (one supersede, one multi-row insert), keeping their order:
 * a re-allocation of a large area writes thousands of profiles, and one round trip per row was the
 * largest part of the time until stations had their new profiles. Within the batch the last message of a
 * dedupe key wins.
 */
export async function enqueueMany(q: Queryable, msgs: OutboxMessage[]): Promise<number> {
  const lastOfKey = new Map<string, number>();
  msgs.forEach((m, i) => m.dedupeKey && lastOfKey.set(m.dedupeKey, i));
  const batch = msgs.filter((m, i) => !m.dedupeKey || lastOfKey.get(m.dedupeKey) === i);
  if (batch.length === 0) return 0;
  const keys = [...lastOfKey.keys()];
  if (keys.length > 0) {
    await q.query(`UPDATE outbox SET state = 'superseded', updated_at = now() WHERE dedupe_key = ANY($1::text[]) AND state IN ('pending','in_flight')`, [keys]);
  }
  await q.query(
    `INSERT INTO outbox (channel, target, action, payload, dedupe_key, run_id)
     SELECT c, t, a, p, k, r FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::bigint[]) WITH ORDINALITY AS x(c, t, a, p, k, r, o)
     ORDER BY o`,
    [
      batch.map((m) => m.channel), batch.map((m) => m.target), batch.map((m) => m.action),
      batch.map((m) => JSON.stringify(m.payload)), batch.map((m) => m.dedupeKey ?? null), batch.map((m) => m.runId ?? null),
    ],
  );
  return batch.length;
}

interface Row {
  id: number;
  channel: OutboxChannel;
  target: string;
  action: string;
  payload: unknown;
  dedupe_key: string | null;
  run_id: number | null;
  state: OutboxState;
  attempts: number;
  created_at: Date;
}

function fromRow(r: Row): OutboxRow {
  return {
    id: Number(r.id),
    channel: r.channel,
    target: r.target,
    action: r.action,
    payload: r.payload,
    dedupeKey: r.dedupe_key ?? undefined,
    runId: r.run_id ?? undefined,
    state: r.state,
    attempts: r.attempts,
    createdAt: r.created_at,
  };
}

/**
 * Claims due messages (pending, or in flight for longer than `staleMs` after a crash), oldest first,
 * at most `limit`, optionally for one target. Claimed rows move to in_flight so a second dispatcher
 * (another instance) skips them.
 */
export async function claimDue(
  q: Queryable,
  opts: { channel?: OutboxChannel; target?: string; targets?: string[]; excludeChannels?: OutboxChannel[]; limit: number; staleMs: number },
): Promise<OutboxRow[]> {
  const rows = await q.query<Row>(
    `UPDATE outbox SET state = 'in_flight', updated_at = now()
     WHERE id IN (
       SELECT id FROM outbox
       WHERE ((state = 'pending' AND next_attempt_at <= now())
              OR (state = 'in_flight' AND updated_at < now() - ($4::double precision * interval '1 millisecond')))
         AND ($1::text IS NULL OR channel = $1) AND ($2::text IS NULL OR target = $2)
         AND ($5::text[] IS NULL OR target = ANY($5::text[])) AND ($6::text[] IS NULL OR channel <> ALL($6::text[]))
       ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING id, channel, target, action, payload, dedupe_key, run_id, state, attempts, created_at`,
    [opts.channel ?? null, opts.target ?? null, opts.limit, opts.staleMs, opts.targets ?? null, opts.excludeChannels ?? null],
  );
  return rows.map(fromRow).sort((a, b) => a.id - b.id);
}

/** Records the peer's answer: final (acked / rejected / failed) or back to pending after `retryInMs`. */
export async function recordAttempt(
  q: Queryable,
  id: number,
  r: { state: 'acked' | 'rejected' | 'failed' | 'pending'; response?: unknown; error?: string; retryInMs?: number; countAttempt: boolean },
): Promise<void> {
  await q.query(
    `UPDATE outbox SET state = CASE WHEN state = 'superseded' THEN 'superseded' ELSE $2 END,
       attempts = attempts + $3, response = COALESCE($4, response), last_error = $5,
       next_attempt_at = now() + ($6::double precision * interval '1 millisecond'), updated_at = now()
     WHERE id = $1`,
    [id, r.state, r.countAttempt ? 1 : 0, r.response === undefined ? null : JSON.stringify(r.response), r.error ?? null, r.retryInMs ?? 0],
  );
}

/** Makes a target's pending messages due now (e.g. a station reconnected). */
export async function makeDueNow(q: Queryable, target: string): Promise<void> {
  await q.query(`UPDATE outbox SET next_attempt_at = now() WHERE target = $1 AND state = 'pending'`, [target]);
}

export async function backlog(q: Queryable): Promise<Record<OutboxChannel, number>> {
  const rows = await q.query<{ channel: OutboxChannel; n: number }>(
    `SELECT channel, count(*)::int AS n FROM outbox WHERE state IN ('pending','in_flight') GROUP BY channel`,
  );
  const out: Record<OutboxChannel, number> = { ocpp: 0, oscp: 0, mqtt: 0, openadr: 0 };
  for (const r of rows) out[r.channel] = Number(r.n);
  return out;
}

export async function recentOutbox(q: Queryable, opts: { target?: string; limit: number }): Promise<(OutboxRow & { response: unknown; lastError: string | null; updatedAt: Date })[]> {
  const rows = await q.query<Row & { response: unknown; last_error: string | null; updated_at: Date }>(
    `SELECT id, channel, target, action, payload, dedupe_key, run_id, state, attempts, created_at, response, last_error, updated_at
     FROM outbox WHERE ($1::text IS NULL OR target = $1) ORDER BY id DESC LIMIT $2`,
    [opts.target ?? null, opts.limit],
  );
  return rows.map((r) => ({ ...fromRow(r), response: r.response, lastError: r.last_error, updatedAt: r.updated_at }));
}
