import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Db } from './db.ts';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * Applies numbered migrations (`NNN_name.sql`) not yet recorded in schema_migration, each in its own
 * transaction. Files named `NNN_name.timescale.sql` run only where the timescaledb extension is
 * available, so plain PostgreSQL and PGlite get the same tables without hypertables.
 */
export async function migrate(db: Db): Promise<string[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migration (
    name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
  // Two instances starting together must not both migrate: take a transaction-scoped advisory lock.
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{3}_.+\.sql$/.test(f)).sort();
  const hasTimescale = await timescaleAvailable(db);
  const applied: string[] = [];
  for (const file of files) {
    if (file.endsWith('.timescale.sql') && !hasTimescale) continue;
    const sql = await readFile(path.join(MIGRATIONS_DIR, file), 'utf8');
    const done = await db.tx(async (q) => {
      // Exempt from DATABASE_STATEMENT_TIMEOUT_MS: a migration may rewrite a large table, and waiting for
      // another instance's migrations is not a hung query.
      await q.query('SET LOCAL statement_timeout = 0');
      await q.query('SELECT pg_advisory_xact_lock(7310001)');
      const seen = await q.query('SELECT 1 FROM schema_migration WHERE name = $1', [file]);
      if (seen.length > 0) return false;
      for (const stmt of splitStatements(sql)) await q.query(stmt);
      await q.query('INSERT INTO schema_migration (name) VALUES ($1)', [file]);
      return true;
    });
    if (done) applied.push(file);
  }
  return applied;
}

async function timescaleAvailable(db: Db): Promise<boolean> {
  if (db.kind === 'pglite') return false;
  const rows = await db.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'`);
  return rows.length > 0;
}

// Migrations are plain DDL without dollar-quoted bodies, so splitting on ';' at line ends is enough;
// that keeps each statement a single query inside the transaction on both drivers.
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}
