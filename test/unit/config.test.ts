import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../services/config.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('configuration', () => {
  it('has working defaults: embedded database and broker, port 8080', () => {
    const c = loadConfig({});
    assert.equal(c.PORT, 8080);
    assert.equal(c.DATABASE_URL, undefined);
    assert.equal(c.MQTT_URL, undefined);
    assert.equal(c.MQTT_EMBEDDED_PORT, 1884);
    assert.equal(c.INTERVAL_MINUTES, 15);
  });

  it('names the variable of a bad value', () => {
    for (const [k, v] of [['PORT', 'abc'], ['DATABASE_URL', 'mysql://x'], ['MQTT_URL', 'not a url'], ['LOG_LEVEL', 'loud'], ['INTERVAL_MINUTES', '7'], ['GRIDFLEX_ADMIN_TOKEN', 'short']] as const) {
      assert.throws(() => loadConfig({ [k]: v }), (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.variable === k), k);
    }
  });

  it('treats empty strings as unset and fails closed in production without an admin token', () => {
    assert.equal(loadConfig({ DATABASE_URL: '' }).DATABASE_URL, undefined);
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }), /GRIDFLEX_ADMIN_TOKEN/);
    assert.equal(loadConfig({ NODE_ENV: 'production', GRIDFLEX_ADMIN_TOKEN: 'x'.repeat(24) }).NODE_ENV, 'production');
  });

  it('stops the CLI with exit code 2 and a message naming the variable', function () {
    this.timeout(30_000);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'services/cli.ts', 'start'], { cwd: root, env: { ...process.env, PORT: 'eighty' }, encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /invalid configuration: PORT/);
  });
});
