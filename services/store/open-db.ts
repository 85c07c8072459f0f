import type { Db } from './db.ts';
import { createPgDb } from './pg-db.ts';
import { createPgliteDb } from './pglite-db.ts';

/** DATABASE_URL set: pg against PostgreSQL/TimescaleDB. Unset: PGlite with its data in `dataDir`. */
export async function openDb(opts: { databaseUrl?: string; dataDir: string; maxConnections?: number; connectTimeoutMs?: number; statementTimeoutMs?: number }): Promise<Db> {
  if (opts.databaseUrl) {
    const { maxConnections, connectTimeoutMs, statementTimeoutMs } = opts;
    return createPgDb(opts.databaseUrl, { maxConnections, connectTimeoutMs, statementTimeoutMs });
  }
  return createPgliteDb(opts.dataDir);
}
