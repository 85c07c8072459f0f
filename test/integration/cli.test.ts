import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PG_TEST_URL, pgAvailable } from '../helpers/db.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, ['bin/gridflex.js', ...args], { cwd: root, env: { ...process.env, LOG_LEVEL: 'info', ...env }, encoding: 'utf8', timeout: 60_000 });

describe('gridflex CLI', function () {
  this.timeout(120_000);

  it('migrate: applies every migration to an empty PostgreSQL database, then nothing', async function () {
    if (!(await pgAvailable())) this.skip();
    const name = `gridflex_cli_${process.pid}`;
    const admin = new pg.Client({ connectionString: PG_TEST_URL });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.query(`CREATE DATABASE ${name}`);
      const u = new URL(PG_TEST_URL);
      u.pathname = '/' + name;
      const first = cli(['migrate'], { DATABASE_URL: u.toString() });
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /migrations applied/);
      assert.match(first.stdout, /001_init\.sql/);
      const again = cli(['migrate'], { DATABASE_URL: u.toString() });
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /up to date/);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('migrate: creates an embedded PGlite database in the data folder', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gridflex-cli-'));
    try {
      const r = cli(['migrate'], { GRIDFLEX_DATA_DIR: dir, DATABASE_URL: '' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /migrations applied/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('oscp-peer: creates, lists and revokes a peer', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gridflex-cli-'));
    try {
      const env = { GRIDFLEX_DATA_DIR: dir, DATABASE_URL: '', LOG_LEVEL: 'warn' };
      const created = cli(['oscp-peer', 'create', 'Feeder DSO'], env);
      assert.equal(created.status, 0, created.stderr);
      const id = /^peer (\S+)$/m.exec(created.stdout)?.[1];
      assert.ok(id, created.stdout);
      assert.match(created.stdout, /registration token \(shown once\): \S{20,}/);
      const listed = cli(['oscp-peer', 'list'], env);
      assert.match(listed.stdout, new RegExp(`${id}\\tcapacity_provider\\tpending\\tFeeder DSO`));
      assert.equal(cli(['oscp-peer', 'revoke', id], env).status, 0);
      assert.match(cli(['oscp-peer', 'list'], env).stdout, /revoked/);
      assert.equal(cli(['oscp-peer', 'revoke', 'nope'], env).status, 1);
      assert.equal(cli(['oscp-peer', 'create', 'x', '--role', 'king'], env).status, 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prints its commands', () => {
    const r = cli(['--help'], {});
    assert.equal(r.status, 0);
    for (const c of ['start', 'demo', 'migrate', 'oscp-peer']) assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
  });
});
