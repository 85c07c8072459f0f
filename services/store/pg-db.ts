import pg from 'pg';
import { checkChannelName, type Db, type ListenEvents, type Queryable, type SqlParam } from './db.ts';

// timestamptz and bigint come back as strings unless told otherwise; keep ISO strings for timestamps
// (repositories convert) but parse int8 (bigserial ids, counts) as numbers: ids stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export interface PgDbOptions {
  maxConnections?: number;
  /**
   * Bound on getting a connection: opening one, or waiting for a free one in a full pool
   * (DATABASE_CONNECT_TIMEOUT_MS). Without it a database that stops accepting connections held every
   * caller, the outbox writer included, forever.
   */
  connectTimeoutMs?: number;
  /**
   * PostgreSQL's own statement_timeout for every pool connection (DATABASE_STATEMENT_TIMEOUT_MS; 0 =
   * none): the server cancels an overrunning statement (SQLSTATE 57014) and the caller gets an error
   * instead of waiting on it. Code that legitimately waits longer (migrations, a grid area's advisory
   * lock) lifts it for its own transaction with SET LOCAL.
   */
  statementTimeoutMs?: number;
}

/** Backoff of the LISTEN connection's reconnects: 250 ms doubling to 30 s. */
const LISTEN_RETRY_MIN_MS = 250;
const LISTEN_RETRY_MAX_MS = 30_000;

export function createPgDb(connectionString: string, opts: PgDbOptions | number = {}): Db {
  const o: PgDbOptions = typeof opts === 'number' ? { maxConnections: opts } : opts;
  const clientConfig: pg.ClientConfig = {
    connectionString,
    // a peer that vanished without a FIN is noticed by TCP keepalive instead of never
    keepAlive: true,
    ...(o.connectTimeoutMs ? { connectionTimeoutMillis: o.connectTimeoutMs } : {}),
  };
  const pool = new pg.Pool({
    ...clientConfig,
    max: o.maxConnections ?? 10,
    // sent as a startup parameter: it is the session default, which SET LOCAL ... TO DEFAULT returns to
    ...(o.statementTimeoutMs ? { statement_timeout: o.statementTimeoutMs } : {}),
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const run = async <R extends object>(c: pg.Pool | pg.PoolClient, sql: string, params?: readonly SqlParam[]): Promise<R[]> => {
    const res = await c.query(sql, params as unknown[] | undefined);
    return res.rows as R[];
  };
  const listeners = new Set<() => Promise<void>>();
  return {
    kind: 'pg',
    query: (sql, params) => run(pool, sql, params),
    async tx(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const q: Queryable = { query: (sql, params) => run(client, sql, params) };
        const out = await fn(q);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async listen(channel, onNotify, events) {
      const stop = await listenWithReconnect(clientConfig, checkChannelName(channel), onNotify, events ?? {});
      const unlisten = async () => {
        listeners.delete(unlisten);
        await stop();
      };
      listeners.add(unlisten);
      return unlisten;
    },
    async close() {
      await Promise.allSettled([...listeners].map((l) => l()));
      await pool.end();
    },
  };
}

/**
 * One dedicated client per LISTEN: a pooled connection would be handed to queries (and a LISTEN on it
 * leaks to them), and a pool may close idle connections. When the connection fails or drops, a new
 * one is opened after a backoff, for as long as nobody stops it.
 */
async function listenWithReconnect(base: pg.ClientConfig, channel: string, onNotify: (payload: string) => void, events: ListenEvents): Promise<() => Promise<void>> {
  let stopped = false;
  let current: pg.Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;

  const retry = (err: Error) => {
    if (stopped || retryTimer) return;
    const delay = Math.min(LISTEN_RETRY_MAX_MS, LISTEN_RETRY_MIN_MS * 2 ** Math.min(failures, 16));
    failures++;
    events.onLost?.(err, delay);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void attempt();
    }, delay);
  };

  async function attempt(): Promise<void> {
    if (stopped) return;
    // operators recognise the listener in pg_stat_activity by its name
    const client = new pg.Client({ ...base, application_name: 'gridflex-listen' });
    current = client;
    let lost = false;
    const onDown = (err: Error) => {
      if (lost) return;
      lost = true;
      if (current === client) current = undefined;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      retry(err);
    };
    client.on('error', onDown);
    client.on('end', () => onDown(new Error('LISTEN connection closed')));
    client.on('notification', (n: pg.Notification) => {
      if (n.channel === channel) onNotify(n.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
    } catch (err) {
      onDown(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (lost) return;
    if (stopped) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      return;
    }
    failures = 0;
    events.onListening?.();
  }

  await attempt();
  return async () => {
    stopped = true;
    clearTimeout(retryTimer);
    const c = current;
    current = undefined;
    if (c) {
      c.removeAllListeners();
      c.on('error', () => undefined);
      await c.end().catch(() => undefined);
    }
  };
}
