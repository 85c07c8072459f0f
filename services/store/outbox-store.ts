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

/**
 * PostgreSQL LISTEN/NOTIFY channel on which every enqueue announces its outbox channel: the instance
 * holding the target (for OCPP, the station's socket) may be another process, and it wakes at once
 * instead of at its next poll. The NOTIFY is part of the enqueueing transaction, so it is delivered
 * when (and only if) the rows are committed and claimable. PostgreSQL folds identical notifications
 * of one transaction into one.
 */
export const OUTBOX_NOTIFY_CHANNEL = 'gridflex_outbox';

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
  await q.query(`SELECT pg_notify($1, $2)`, [OUTBOX_NOTIFY_CHANNEL, m.channel]);
  return Number(row!.id);
}

/**
 * Enqueues many messages in two statements (one supersede, one multi-row insert), keeping their order:
 * a re-allocation of a large area writes thousands of profiles, and one round trip per row was the
 * largest part of the time until stations had their new profiles. Within the batch the last message of a
 * dedupe key wins. The payloads travel as one JSON array document rather than a jsonb[] parameter: the
 * driver's array-literal quoting of thousands of profiles (2 KB each) took twice as long as the insert
 * itself (10 000 station profiles: 2.0–3.5 s → 0.8–1.2 s on PostgreSQL).
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
     SELECT x.c, x.t, x.a, e.p, x.k, x.r
     FROM unnest($1::text[], $2::text[], $3::text[], $5::text[], $6::bigint[]) WITH ORDINALITY AS x(c, t, a, k, r, o)
     JOIN jsonb_array_elements($4::jsonb) WITH ORDINALITY AS e(p, o) ON e.o = x.o
     ORDER BY x.o`,
    [
      batch.map((m) => m.channel), batch.map((m) => m.target), batch.map((m) => m.action),
      // an undefined payload would vanish from the array and shift every later one: JSON null instead
      JSON.stringify(batch.map((m) => m.payload ?? null)), batch.map((m) => m.dedupeKey ?? null), batch.map((m) => m.runId ?? null),
    ],
  );
  // one notification per outbox channel in the batch, not per row
  await q.query(`SELECT pg_notify($1, c) FROM unnest($2::text[]) AS c`, [OUTBOX_NOTIFY_CHANNEL, [...new Set(batch.map((m) => m.channel))]]);
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
 * (another instance) skips them. `excludeTargets`: targets whose earlier messages this dispatcher is
 * still delivering (claiming their later ones now would let them overtake). `ownedBy`: only targets
 * whose station_state.connected_instance is this instance (OCPP stations connected here, migration
 * 017): an instance whose socket to a station is half-dead while the station already reconnected
 * elsewhere believes it holds the station, but the database says otherwise.
 */
export async function claimDue(
  q: Queryable,
  opts: { channel?: OutboxChannel; target?: string; targets?: string[]; excludeTargets?: string[]; excludeChannels?: OutboxChannel[]; ownedBy?: string; limit: number; staleMs: number },
): Promise<OutboxRow[]> {
  const rows = await q.query<Row>(
    `UPDATE outbox SET state = 'in_flight', updated_at = now()
     WHERE id IN (
       SELECT id FROM outbox
       WHERE ((state = 'pending' AND next_attempt_at <= now())
              OR (state = 'in_flight' AND updated_at < now() - ($4::double precision * interval '1 millisecond')))
         AND ($1::text IS NULL OR channel = $1) AND ($2::text IS NULL OR target = $2)
         AND ($5::text[] IS NULL OR target = ANY($5::text[])) AND ($6::text[] IS NULL OR channel <> ALL($6::text[]))
         AND ($7::text[] IS NULL OR target <> ALL($7::text[]))
         AND ($8::text IS NULL OR EXISTS (SELECT 1 FROM station_state s WHERE s.station_id = outbox.target AND s.connected_instance = $8))
       ORDER BY id LIMIT $3 FOR UPDATE OF outbox SKIP LOCKED)
     RETURNING id, channel, target, action, payload, dedupe_key, run_id, state, attempts, created_at`,
    [opts.channel ?? null, opts.target ?? null, opts.limit, opts.staleMs, opts.targets ?? null, opts.excludeChannels ?? null, opts.excludeTargets ?? null, opts.ownedBy ?? null],
  );
  return rows.map(fromRow).sort((a, b) => a.id - b.id);
}

/** The outcome of one delivery attempt, as recordAttempt / recordAttempts store it. */
export interface AttemptOutcome {
  state: 'acked' | 'rejected' | 'failed' | 'pending';
  response?: unknown;
  error?: string;
  retryInMs?: number;
  countAttempt: boolean;
}

/** Records the peer's answer: final (acked / rejected / failed) or back to pending after `retryInMs`. */
export async function recordAttempt(q: Queryable, id: number, r: AttemptOutcome): Promise<void> {
  await q.query(
    `UPDATE outbox SET state = CASE WHEN state = 'superseded' THEN 'superseded' ELSE $2 END,
       attempts = attempts + $3, response = COALESCE($4, response), last_error = $5,
       next_attempt_at = now() + ($6::double precision * interval '1 millisecond'), updated_at = now()
     WHERE id = $1`,
    [id, r.state, r.countAttempt ? 1 : 0, r.response === undefined ? null : JSON.stringify(r.response), r.error ?? null, r.retryInMs ?? 0],
  );
}

/**
 * recordAttempt for many rows in one statement (the dispatcher's group commit: a re-plan of 10 000
 * stations answered within a second would otherwise be 10 000 single-row UPDATEs competing with the
 * stations' own traffic for the pool). Same rules per row: a row superseded meanwhile stays superseded.
 * When an id appears twice, its last outcome counts. Only call it with outcomes that have happened:
 * whatever is written here is what the peer answered.
 */
export async function recordAttempts(q: Queryable, outcomes: readonly { id: number; outcome: AttemptOutcome }[]): Promise<void> {
  const last = new Map<number, AttemptOutcome>();
  for (const o of outcomes) last.set(o.id, o.outcome);
  if (last.size === 0) return;
  const rows = [...last];
  await q.query(
    `UPDATE outbox o SET state = CASE WHEN o.state = 'superseded' THEN 'superseded' ELSE u.state END,
       attempts = o.attempts + u.inc, response = COALESCE(u.response::jsonb, o.response), last_error = u.err,
       next_attempt_at = now() + (u.retry_ms * interval '1 millisecond'), updated_at = now()
     FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::text[], $6::double precision[]) AS u(id, state, inc, response, err, retry_ms)
     WHERE o.id = u.id`,
    [
      rows.map(([id]) => id), rows.map(([, r]) => r.state), rows.map(([, r]) => (r.countAttempt ? 1 : 0)),
      rows.map(([, r]) => (r.response === undefined ? null : JSON.stringify(r.response))), rows.map(([, r]) => r.error ?? null), rows.map(([, r]) => r.retryInMs ?? 0),
    ],
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
