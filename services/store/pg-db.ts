import pg from 'pg';
import type { Db, Queryable, SqlParam } from './db.ts';

// timestamptz and bigint come back as strings unless told otherwise; keep ISO strings for timestamps
// (repositories convert) but parse int8 (bigserial ids, counts) as numbers: ids stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export function createPgDb(connectionString: string, maxConnections = 10): Db {
  const pool = new pg.Pool({ connectionString, max: maxConnections });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const run = async <R extends object>(c: pg.Pool | pg.PoolClient, sql: string, params?: readonly SqlParam[]): Promise<R[]> => {
    const res = await c.query(sql, params as unknown[] | undefined);
    return res.rows as R[];
  };
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
    close: () => pool.end(),
  };
}
