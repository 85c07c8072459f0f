import type { Db } from './db.ts';
import { createPgDb } from './pg-db.ts';
import { createPgliteDb } from './pglite-db.ts';

/** DATABASE_URL set: pg against PostgreSQL/TimescaleDB. Unset: PGlite with its data in `dataDir`. */
export async function openDb(opts: { databaseUrl?: string; dataDir: string; maxConnections?: number }): Promise<Db> {
  if (opts.databaseUrl) return createPgDb(opts.databaseUrl, opts.maxConnections);
  return createPgliteDb(opts.dataDir);
}
