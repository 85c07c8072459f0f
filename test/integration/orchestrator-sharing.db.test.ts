import assert from 'node:assert/strict';
import pino from 'pino';
import { allocate } from '../../optimizer/index.ts';
import type { Allocation, AllocationInput } from '../../optimizer/model.ts';
import { loadConfig } from '../../services/config.ts';
import { createMetrics } from '../../services/metrics.ts';
import { createDispatcher } from '../../services/core/outbox-dispatcher.ts';
import { createOrchestrator } from '../../services/core/orchestrator.ts';
import { startSession } from '../../services/ocpp/session-store.ts';
import { listAreaNodes, listCposByCreation, upsertNodes } from '../../services/store/topology-store.ts';
import { forEachDriver } from '../helpers/db.ts';

const NOW = Date.UTC(2026, 0, 5, 8, 0, 0);

/**
 * SHARING_POLICY from the settings to allocate(): grid area 22 kW, CPO cpo-b created before cpo-a;
 * cpo-a contracted 30 kW and class 2, cpo-b 10 kW and class 1; one 22 kW EVSE each, both charging and
 * wanting far more than the area gives over the horizon.
 */
forEachDriver('orchestrator sharing policy from the settings', (get) => {
  before(async () => {
    const db = get();
    await db.tx((q) => upsertNodes(q, [
      { id: 'ga-sh', kind: 'grid_area', parentId: null, importLimitKw: 22 },
      { id: 'cpo-b', kind: 'cpo', parentId: 'ga-sh', importLimitKw: 10, sharingClass: 1 },
      { id: 'st-b', kind: 'station', parentId: 'cpo-b' },
      { id: 'ev-b', kind: 'evse', parentId: 'st-b', maxPowerKw: 22 },
    ]));
    // A later transaction: cpo-a asked for capacity after cpo-b.
    await new Promise((r) => setTimeout(r, 5));
    await db.tx((q) => upsertNodes(q, [
      { id: 'cpo-a', kind: 'cpo', parentId: 'ga-sh', importLimitKw: 30, sharingClass: 2 },
      { id: 'st-a', kind: 'station', parentId: 'cpo-a' },
      { id: 'ev-a', kind: 'evse', parentId: 'st-a', maxPowerKw: 22 },
    ]));
    await db.tx(async (q) => {
      await startSession(q, { stationId: 'st-a', evseId: 'ev-a', transactionId: 'tx-a', startedMs: NOW });
      await startSession(q, { stationId: 'st-b', evseId: 'ev-b', transactionId: 'tx-b', startedMs: NOW });
    });
  });

  async function run(policy: string): Promise<{ input: AllocationInput; alloc: Allocation }> {
    let seen: { input: AllocationInput; alloc: Allocation } | undefined;
    const solver = {
      allocate: async (input: AllocationInput) => {
        const alloc = await allocate(input);
        seen = { input, alloc };
        return alloc;
      },
      close: async () => undefined,
    };
    const config = loadConfig({ LOG_LEVEL: 'silent', SHARING_POLICY: policy, HORIZON_INTERVALS: '8', DEFAULT_SESSION_ENERGY_KWH: '500' });
    const log = pino({ level: 'silent' });
    const metrics = createMetrics();
    const db = get();
    const orch = createOrchestrator({ db, log, metrics, config, dispatcher: createDispatcher({ db, log, metrics, config }), solver, now: () => NOW });
    const r = await orch.runNow('ga-sh', 'test');
    await orch.stop();
    assert.ok(r.verified, r.violations.join('; '));
    assert.ok(seen);
    assert.equal(seen.alloc.status, 'optimal', seen.alloc.reason);
    return seen;
  }
  const kw = (a: Allocation, id: string): number => a.evses.find((e) => e.evseId === id)!.kw[0]!;

  it('maxmin: weights are the CPO nodes\' contracted capacities, the area is shared 3:1', async () => {
    const { input, alloc } = await run('maxmin');
    assert.deepEqual(input.sharing, { policy: 'maxmin', weights: { 'cpo-a': 30, 'cpo-b': 10 } });
    assert.equal(kw(alloc, 'ev-a'), 16.5);
    assert.equal(kw(alloc, 'ev-b'), 5.5);
  });

  it('priority: classes from the CPO nodes\' sharingClass, the higher class first', async () => {
    const { input, alloc } = await run('priority');
    assert.deepEqual(input.sharing, { policy: 'priority', classes: { 'cpo-a': 2, 'cpo-b': 1 } });
    assert.equal(kw(alloc, 'ev-a'), 22);
    assert.equal(kw(alloc, 'ev-b'), 0);
  });

  it('fcfs: the order the CPO nodes were created in', async () => {
    assert.deepEqual(await listCposByCreation(get(), 'ga-sh'), ['cpo-b', 'cpo-a']);
    const { input, alloc } = await run('fcfs');
    assert.deepEqual(input.sharing, { policy: 'fcfs', order: ['cpo-b', 'cpo-a'] });
    // cpo-b first, up to its own 10 kW limit (then it is saturated); cpo-a gets the rest.
    assert.equal(kw(alloc, 'ev-b'), 10);
    assert.equal(kw(alloc, 'ev-a'), 12);
  });

  it('stores the sharing class on CPO nodes only; an update keeps the creation order', async () => {
    const db = get();
    const classes = Object.fromEntries((await listAreaNodes(db, 'ga-sh')).map((n) => [n.id, n.sharingClass]));
    assert.equal(classes['cpo-a'], 2);
    assert.equal(classes['ev-a'], null);
    await assert.rejects(db.tx((q) => upsertNodes(q, [{ id: 'st-x', kind: 'station', parentId: 'cpo-a', sharingClass: 3 }])), /only a CPO node has a sharing class/);
    await db.tx((q) => upsertNodes(q, [{ id: 'cpo-b', kind: 'cpo', parentId: 'ga-sh', importLimitKw: 10, sharingClass: null }]));
    assert.deepEqual(await listCposByCreation(db, 'ga-sh'), ['cpo-b', 'cpo-a']);
    const { input, alloc } = await run('priority');
    // cpo-b has no class now: left out of the map, the optimizer gives it the lowest class and says so.
    assert.deepEqual(input.sharing, { policy: 'priority', classes: { 'cpo-a': 2 } });
    assert.match(alloc.reason ?? '', /sharing class of CPO cpo-b is missing: lowest class used/);
  });
});
