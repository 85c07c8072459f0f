import assert from 'node:assert/strict';
import pino from 'pino';
import { allocate } from '../../optimizer/index.ts';
import type { Allocation, AllocationInput } from '../../optimizer/model.ts';
import { loadConfig } from '../../services/config.ts';
import { createMetrics } from '../../services/metrics.ts';
import { createDispatcher } from '../../services/core/outbox-dispatcher.ts';
import { createOrchestrator } from '../../services/core/orchestrator.ts';
import { upsertNodes } from '../../services/store/topology-store.ts';
import { recentRuns } from '../../services/store/allocation-store.ts';
import { createPgDb } from '../../services/store/pg-db.ts';
import { freshPgDb, pgAvailable, type TestDb } from '../helpers/db.ts';

/** Two gridflex instances on one PostgreSQL: one grid area is never solved by both at once. */
describe('orchestrator across instances [postgresql]', function () {
  this.timeout(60_000);
  let t: TestDb;
  before(async function () {
    if (!(await pgAvailable())) this.skip();
    t = await freshPgDb();
    await t.db.tx((q) =>
      upsertNodes(q, [
        { id: 'ga-lock', kind: 'grid_area', parentId: null, importLimitKw: 20 },
        { id: 'cs-lock', kind: 'station', parentId: 'ga-lock' },
        { id: 'cs-lock-1', kind: 'evse', parentId: 'cs-lock', maxPowerKw: 11 },
      ]),
    );
  });
  after(async () => {
    await t?.drop();
  });

  it('serialises runs of the same grid area with an advisory lock', async () => {
    const windows: [number, number][] = [];
    const slowSolver = {
      async allocate(input: AllocationInput): Promise<Allocation> {
        const start = Date.now();
        await new Promise((r) => setTimeout(r, 300));
        const a = await allocate(input);
        windows.push([start, Date.now()]);
        return a;
      },
      close: async () => undefined,
    };
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const log = pino({ level: 'silent' });
    const instances = [createPgDb(t.url!, 3), createPgDb(t.url!, 3)].map((db) => {
      const metrics = createMetrics();
      return { db, orch: createOrchestrator({ db, log, metrics, config, dispatcher: createDispatcher({ db, log, metrics, config }), solver: slowSolver }) };
    });
    try {
      const results = await Promise.all(instances.map((i) => i.orch.runNow('ga-lock', 'test')));
      assert.ok(results.every((r) => r.verified));
      windows.sort((a, b) => a[0] - b[0]);
      assert.equal(windows.length, 2);
      assert.ok(windows[1]![0] >= windows[0]![1], `solves overlapped: ${JSON.stringify(windows)}`);
      assert.equal((await recentRuns(t.db, 'ga-lock', 10)).length, 2);
    } finally {
      for (const i of instances) await i.db.close();
    }
  });
});

describe('orchestrator input from settings [pglite]', function () {
  this.timeout(60_000);
  it('passes the sharing policy with contracted capacities and the churn penalty to the optimizer', async () => {
    const { freshPgliteDb } = await import('../helpers/db.ts');
    const t = await freshPgliteDb();
    try {
      await t.db.tx((q) =>
        upsertNodes(q, [
          { id: 'ga-s', kind: 'grid_area', parentId: null, importLimitKw: 20 },
          { id: 'cpo-a', kind: 'cpo', parentId: 'ga-s', importLimitKw: 30 },
          { id: 'cpo-b', kind: 'cpo', parentId: 'ga-s' },
        ]),
      );
      let seen: AllocationInput | undefined;
      const solver = { allocate: async (i: AllocationInput) => ((seen = i), allocate(i)), close: async () => undefined };
      const config = loadConfig({ SHARING_POLICY: 'proportional', CHURN_PENALTY_PER_KW: '0.1' });
      const log = pino({ level: 'silent' });
      const metrics = createMetrics();
      const orch = createOrchestrator({ db: t.db, log, metrics, config, dispatcher: createDispatcher({ db: t.db, log, metrics, config }), solver });
      await orch.runNow('ga-s', 'test');
      assert.deepEqual(seen?.sharing, { policy: 'proportional', weights: { 'cpo-a': 30, 'cpo-b': 1 } });
      assert.equal(seen?.churnPenaltyPerKw, 0.1);
      assert.throws(() => loadConfig({ SHARING_POLICY: 'fifo' }), /SHARING_POLICY/);
    } finally {
      await t.drop();
    }
  });
});
