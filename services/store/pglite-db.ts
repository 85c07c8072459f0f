import { PGlite } from '@electric-sql/pglite';
import { checkChannelName, type Db, type Queryable, type SqlParam } from './db.ts';

interface PgliteLike {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/** PGlite: PostgreSQL in WASM. `dataDir` undefined keeps the database in memory (tests). */
export async function createPgliteDb(dataDir?: string): Promise<Db> {
  const lite = dataDir ? new PGlite(dataDir) : new PGlite();
  await lite.waitReady;
  const run = async <R extends object>(c: PgliteLike, sql: string, params?: readonly SqlParam[]): Promise<R[]> => {
    const res = await c.query<R>(sql, params as unknown[] | undefined);
    return res.rows.map(normalizeRow) as R[];
  };
  // PGlite runs one statement at a time; serialise transactions so a query outside the transaction
  // does not interleave with it on the single connection.
  let chain: Promise<unknown> = Promise.resolve();
  return {
    kind: 'pglite',
    query: (sql, params) => run(lite, sql, params),
    tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      const next = chain.then(() =>
        lite.transaction(async (t) => fn({ query: (sql, params) => run(t, sql, params) })),
      );
      chain = next.catch(() => undefined);
      return next as Promise<T>;
    },
    async exec(sql) {
      await lite.exec(sql);
    },
    // One process, one connection: a NOTIFY is delivered in-process once its transaction commits, and
    // there is no connection to lose, so onListening fires once and onLost never.
    async listen(channel, onNotify, events) {
      const unlisten = await lite.listen(checkChannelName(channel), onNotify);
      events?.onListening?.();
      let done = false;
      return async () => {
        if (done || lite.closed) return;
        done = true;
        await unlisten();
      };
    },
    close: () => lite.close(),
  };
}

// node-postgres returns timestamptz as Date and int8 as number (see pg-db.ts); PGlite returns Date
// and bigint. Align PGlite on the same shapes so repositories see one set of types.
function normalizeRow(row: unknown): unknown {
  if (row === null || typeof row !== 'object') return row;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row as Record<string, unknown>)) {
    out[k] = typeof v === 'bigint' ? Number(v) : v;
  }
  return out;
}
