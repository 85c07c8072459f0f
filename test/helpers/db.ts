import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Db } from '../../services/store/db.ts';
import { migrate } from '../../services/store/migrate.ts';
import { createPgDb } from '../../services/store/pg-db.ts';
import { createPgliteDb } from '../../services/store/pglite-db.ts';

/**
 * Test databases. The real PostgreSQL (PG_TEST_URL, default the local `test` database) gets one
 * migrated template per migration set; each test file clones it into a fresh database. Where no
 * PostgreSQL answers, tests fall back to PGlite, except in CI, where PostgreSQL is required.
 */
export const PG_TEST_URL = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../services/store/migrations');
let available: Promise<boolean> | undefined;
let template: Promise<string> | undefined;

export function pgAvailable(): Promise<boolean> {
  available ??= (async () => {
    const c = new pg.Client({ connectionString: PG_TEST_URL, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
      return true;
    } catch {
      if (process.env.CI) throw new Error(`CI requires PostgreSQL at ${PG_TEST_URL}`);
      console.warn(`note: no PostgreSQL at ${PG_TEST_URL}; database tests run on PGlite only`);
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  })();
  return available;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = '/' + name;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_TEST_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function migrationsDigest(): string {
  const h = createHash('sha256');
  for (const f of readdirSync(MIGRATIONS).sort()) h.update(f).update(readFileSync(path.join(MIGRATIONS, f)));
  return h.digest('hex').slice(0, 12);
}

function ensureTemplate(): Promise<string> {
  template ??= (async () => {
    const name = `gridflex_tpl_${migrationsDigest()}`;
    await admin(async (c) => {
      // Serialise template creation across concurrent test processes.
      await c.query('SELECT pg_advisory_lock(7310002)');
      try {
        const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (exists.rowCount === 0) {
          // Templates of other migration sets are dropped a day after they were built: another test
          // run (another checkout) may still be using a recent one.
          const old = await c.query<{ datname: string }>(
            `SELECT d.datname FROM pg_database d JOIN pg_shdescription s ON s.objoid = d.oid
             WHERE d.datname LIKE 'gridflex\\_tpl\\_%' AND d.datname <> $1 AND s.description ~ '^built [0-9]+$'
               AND substring(s.description from 7)::bigint < $2`,
            [name, Date.now() - 86_400_000],
          );
          for (const o of old.rows) await c.query(`DROP DATABASE IF EXISTS ${o.datname}`).catch(() => undefined);
          // Built under a temporary name and renamed when complete, so a failed migration never
          // leaves a half-migrated template behind for later runs.
          const building = `${name}_building`;
          await c.query(`DROP DATABASE IF EXISTS ${building}`);
          await c.query(`CREATE DATABASE ${building}`);
          const db = createPgDb(withDatabase(PG_TEST_URL, building), 2);
          try {
            await migrate(db);
          } finally {
            await db.close();
          }
          await c.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
          await c.query(`COMMENT ON DATABASE ${name} IS 'built ${Date.now()}'`);
        }
      } finally {
        await c.query('SELECT pg_advisory_unlock(7310002)');
      }
    });
    return name;
  })();
  return template;
}

export interface TestDb {
  db: Db;
  url?: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database on the real PostgreSQL. */
export async function freshPgDb(): Promise<TestDb> {
  const tpl = await ensureTemplate();
  const name = `gridflex_t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${tpl}`));
  const url = withDatabase(PG_TEST_URL, name);
  const db = createPgDb(url, 5);
  return {
    db,
    url,
    async drop() {
      await db.close();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** A fresh, migrated in-memory PGlite (boots in a few seconds: one per test file). */
export async function freshPgliteDb(): Promise<TestDb> {
  const db = await createPgliteDb();
  await migrate(db);
  return { db, drop: () => db.close() };
}

/**
 * Runs a DB suite once per driver: the real PostgreSQL (skipped with a note where none answers,
 * required in CI) and PGlite. `get()` returns the suite's fresh database inside tests and hooks.
 */
export function forEachDriver(title: string, suite: (get: () => Db) => void): void {
  const drivers: { name: string; open: () => Promise<TestDb> }[] = [
    { name: 'postgresql', open: freshPgDb },
    { name: 'pglite', open: freshPgliteDb },
  ];
  for (const d of drivers) {
    describe(`${title} [${d.name}]`, function () {
      let t: TestDb | undefined;
      before(async function () {
        if (d.name === 'postgresql' && !(await pgAvailable())) this.skip();
        t = await d.open();
      });
      after(async () => {
        await t?.drop();
      });
      suite(() => {
        if (!t) throw new Error('database not open');
        return t.db;
      });
    });
  }
}
