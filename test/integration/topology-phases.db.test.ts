import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { allocate, type AllocationInput } from '../../optimizer/index.ts';
import { topologyRoutes } from '../../services/api/topology-routes.ts';
import { loadConfig } from '../../services/config.ts';
import { createOrchestrator } from '../../services/core/orchestrator.ts';
import { createDispatcher } from '../../services/core/outbox-dispatcher.ts';
import { adminAuth } from '../../services/http/admin-auth.ts';
import { createHttpApp } from '../../services/http/app.ts';
import { createLogger } from '../../services/log.ts';
import { createMetrics } from '../../services/metrics.ts';
import { forEachDriver } from '../helpers/db.ts';

const TOKEN = 'admin-token-for-phase-tests';

/** Per-phase topology fields through the admin API and storage into the optimizer input; MIN_POWER_MODE; reuse of an unchanged area's solve. */
forEachDriver('per-phase topology fields, MIN_POWER_MODE and re-optimization in the service', (get) => {
  let server: Server;
  let base = '';
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };

  before(async () => {
    const db = get();
    const { app } = createHttpApp({
      log: createLogger('silent'), metrics: createMetrics(), db, maxBodyBytes: 65536, protocolRouters: [],
      adminApi: (a) => topologyRoutes(a, { db, auth: adminAuth(TOKEN), onAreaChanged: () => undefined }),
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it('stores ampere limits, phases, voltage and the phase of an EVSE; rejects a phase that does not exist', async () => {
    const res = await api('PUT', '/topology', {
      nodes: [
        { id: 'ga-ph', kind: 'grid_area', parentId: null },
        { id: 'site-ph', kind: 'site', parentId: 'ga-ph', importLimitA: 16, exportLimitA: 10, phases: 3, voltageV: 230 },
        { id: 'cs-ph', kind: 'station', parentId: 'site-ph' },
        { id: 'cs-ph-1', kind: 'evse', parentId: 'cs-ph', maxPowerKw: 7.4, minPowerKw: 1.4, phases: 1, phase: 'L1' },
        { id: 'cs-ph-2', kind: 'evse', parentId: 'cs-ph', maxPowerKw: 11, phases: 3 },
      ],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const site = await api('GET', '/nodes/site-ph');
    assert.equal(site.body?.importLimitA, 16);
    assert.equal(site.body?.exportLimitA, 10);
    assert.equal((await api('GET', '/nodes/cs-ph-1')).body?.phase, 'L1');
    const bad = await api('PUT', '/topology', { nodes: [{ id: 'x', kind: 'evse', parentId: 'cs-ph', phase: 'L4' }] });
    assert.equal(bad.status, 400);
    assert.match(bad.type, /application\/problem\+json/);
    const negative = await api('PUT', '/topology', { nodes: [{ id: 'site-ph', kind: 'site', parentId: 'ga-ph', importLimitA: -1 }] });
    assert.equal(negative.status, 400);
    assert.equal((await api('GET', '/nodes/site-ph')).body?.importLimitA, 16, 'a rejected import changes nothing');
  });

  it('passes them and MIN_POWER_MODE to the optimizer, and does not solve an unchanged area again', async () => {
    const db = get();
    const seen: AllocationInput[] = [];
    const solver = { allocate: async (i: AllocationInput) => (seen.push(i), allocate(i)), close: async () => undefined };
    const config = loadConfig({ MIN_POWER_MODE: 'milp', LOG_LEVEL: 'silent' });
    const log = pino({ level: 'silent' });
    const metrics = createMetrics();
    let now = Date.UTC(2026, 0, 5, 10, 1);
    const orch = createOrchestrator({ db, log, metrics, config, dispatcher: createDispatcher({ db, log, metrics, config }), solver, now: () => now });
    const first = await orch.runNow('ga-ph', 'test');
    assert.ok(first.verified, first.violations.join('; '));
    assert.equal(seen.length, 1);
    const input = seen[0]!;
    assert.equal(input.minPowerMode, 'milp');
    const byId = new Map(input.nodes.map((n) => [n.id, n]));
    assert.deepEqual(
      { a: byId.get('site-ph')?.importLimitA, x: byId.get('site-ph')?.exportLimitA, n: byId.get('site-ph')?.phaseCount, v: byId.get('site-ph')?.phaseVoltageV },
      { a: 16, x: 10, n: 3, v: 230 },
    );
    assert.deepEqual({ n: byId.get('cs-ph-1')?.phaseCount, p: byId.get('cs-ph-1')?.phase }, { n: 1, p: 'L1' });

    // Same input (same interval, nothing changed): the last result is reused, still stored and verified.
    now += 60_000;
    const second = await orch.runNow('ga-ph', 'station reconnected');
    assert.equal(seen.length, 1);
    assert.ok(second.verified);
    assert.notEqual(second.runId, first.runId);
    // The horizon moves to the next interval: solved again.
    now += 15 * 60_000;
    await orch.runNow('ga-ph', 'tick');
    assert.equal(seen.length, 2);
    await orch.stop();
  });

  it('rejects an unknown MIN_POWER_MODE at start-up', () => {
    assert.throws(() => loadConfig({ MIN_POWER_MODE: 'exact' }), /MIN_POWER_MODE/);
  });
});
