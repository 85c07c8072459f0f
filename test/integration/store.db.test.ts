import assert from 'node:assert/strict';
import { forEachDriver } from '../helpers/db.ts';
import { upsertNodes, listAreaNodes, getNode, setOscpGroup, nodeOfOscpGroup } from '../../services/store/topology-store.ts';
import { saveForecast, loadEnvelopes, latestForecasts } from '../../services/store/forecast-store.ts';
import { migrate } from '../../services/store/migrate.ts';

const T0 = Date.UTC(2026, 10, 23, 12, 0);
const Q = 15 * 60_000;

forEachDriver('store', (get) => {
  it('re-running migrations applies nothing', async () => {
    assert.deepEqual(await migrate(get()), []);
  });

  it('stores a topology and rejects a structural error without writing anything', async () => {
    const db = get();
    await db.tx((q) =>
      upsertNodes(q, [
        { id: 'ga1', kind: 'grid_area', parentId: null, importLimitKw: 100 },
        { id: 'site1', kind: 'site', parentId: 'ga1', importLimitKw: 50 },
        { id: 'cs1', kind: 'station', parentId: 'site1' },
        { id: 'cs1-1', kind: 'evse', parentId: 'cs1', maxPowerKw: 22, ocppEvseId: 1 },
      ]),
    );
    const nodes = await listAreaNodes(db, 'ga1');
    assert.equal(nodes.length, 4);
    assert.equal((await getNode(db, 'cs1-1'))?.gridAreaId, 'ga1');
    await assert.rejects(
      db.tx((q) =>
        upsertNodes(q, [
          { id: 'site2', kind: 'site', parentId: 'ga1' },
          { id: 'bad', kind: 'evse', parentId: 'site2' },
        ]),
      ),
      /cannot be under/,
    );
    assert.equal(await getNode(db, 'site2'), undefined);
  });

  it('maps an OSCP group to a node', async () => {
    const db = get();
    await setOscpGroup(db, 'grp-A', 'ga1');
    assert.equal((await nodeOfOscpGroup(db, 'grp-A'))?.id, 'ga1');
    assert.equal(await nodeOfOscpGroup(db, 'nope'), undefined);
  });

  it('builds envelopes: newest forecast wins per interval, lowest overlapping block applies', async () => {
    const db = get();
    await db.tx((q) =>
      saveForecast(q, {
        nodeId: 'ga1',
        source: 'test',
        type: 'CONSUMPTION',
        blocks: [
          { startMs: T0, endMs: T0 + 4 * Q, kw: 80 },
          { startMs: T0 + 4 * Q, endMs: T0 + 8 * Q, kw: 60 },
        ],
      }),
    );
    await db.tx((q) =>
      saveForecast(q, {
        nodeId: 'ga1',
        source: 'test',
        type: 'CONSUMPTION',
        blocks: [
          { startMs: T0 + 2 * Q, endMs: T0 + 2 * Q + 5 * 60_000, kw: 30 },
          { startMs: T0 + 2 * Q + 5 * 60_000, endMs: T0 + 3 * Q, kw: 40 },
        ],
      }),
    );
    const [env] = await loadEnvelopes(db, ['ga1'], { startMs: T0, intervalMinutes: 15, count: 10 });
    assert.deepEqual(env?.importKw, [80, 80, 30, 80, 60, 60, 60, 60, null, null]);
    assert.deepEqual(env?.exportKw, Array(10).fill(null));
    const latest = await latestForecasts(db, 'ga1');
    assert.equal(latest.length, 1);
    assert.equal(latest[0]?.blocks.length, 2);
  });
});
