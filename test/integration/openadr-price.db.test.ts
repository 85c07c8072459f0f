import assert from 'node:assert/strict';
import { forEachDriver } from '../helpers/db.ts';
import { upsertNodes } from '../../services/store/topology-store.ts';
import { openadrPriceSource } from '../../services/openadr/price-source.ts';
import { openadrSimpleEnvelopeSource, parseSimpleReductions } from '../../services/openadr/simple-levels.ts';
import { loadConfig } from '../../services/config.ts';
import { allocate } from '../../optimizer/index.ts';

const T0 = Date.UTC(2026, 10, 23, 0, 0);
const Q = 15 * 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

forEachDriver('OpenADR prices and SIMPLE levels for the optimizer', (get) => {
  before(async () => {
    await get().tx((q) =>
      upsertNodes(q, [
        { id: 'ga-p', kind: 'grid_area', parentId: null, importLimitKw: 11 },
        { id: 'site-p', kind: 'site', parentId: 'ga-p' },
        { id: 'cs-p', kind: 'station', parentId: 'site-p' },
        { id: 'cs-p-1', kind: 'evse', parentId: 'cs-p', maxPowerKw: 11 },
      ]),
    );
    const add = (node: string, from: number, to: number, value: number, ev = 'e1') =>
      get().query(`INSERT INTO dr_signal (source, event_id, node_id, grid_area_id, kind, start_at, end_at, value, unit) VALUES ('openadr', $1, $2, 'ga-p', 'price', $3, $4, $5, 'EUR/KWH')`, [ev, node, iso(from), iso(to), value]);
    await add('ga-p', T0, T0 + 2 * Q, 0.4);
    await add('site-p', T0, T0 + 4 * Q, 0.1, 'e2');
  });

  it('gives one price per interval, the grid area’s own price first, none where no event covers', async () => {
    const prices = await openadrPriceSource(get(), 'ga-p', ['ga-p', 'site-p', 'cs-p', 'cs-p-1'], { startMs: T0, intervalMinutes: 15, count: 6 });
    assert.deepEqual(prices, [0.4, 0.4, 0.1, 0.1, null, null]);
    assert.equal(await openadrPriceSource(get(), 'ga-p', ['ga-p'], { startMs: T0 + 10 * Q, intervalMinutes: 15, count: 2 }), undefined);
  });

  it('moves charging to the cheaper intervals without leaving energy undelivered', async () => {
    const horizon = { startMs: T0, intervalMinutes: 15, count: 4 };
    const pricePerKwh = await openadrPriceSource(get(), 'ga-p', ['ga-p', 'site-p'], horizon);
    const a = await allocate({
      horizon, pricePerKwh, envelopes: [],
      nodes: [{ id: 'ga-p', kind: 'grid_area', parentId: null, importLimitKw: 11 }, { id: 'cs-p', kind: 'station', parentId: 'ga-p' }, { id: 'cs-p-1', kind: 'evse', parentId: 'cs-p', maxPowerKw: 11 }],
      demands: [{ sessionId: 's', evseId: 'cs-p-1', arrivalMs: T0, departureMs: T0 + 4 * Q, energyKwh: 5.5 }],
    });
    const kw = a.evses[0]!.kw;
    assert.deepEqual(a.unmet, []);
    assert.ok(kw[2]! + kw[3]! > kw[0]! + kw[1]!, `charges in the cheap half: ${kw.join(', ')}`);
  });

  it('turns SIMPLE levels into a reduced import limit of the node, the highest level counting', async () => {
    const add = (ev: string, from: number, to: number, level: number) =>
      get().query(`INSERT INTO dr_signal (source, event_id, node_id, grid_area_id, kind, start_at, end_at, value) VALUES ('openadr', $1, 'ga-p', 'ga-p', 'simple', $2, $3, $4)`, [ev, iso(from), iso(to), level]);
    await add('s1', T0, T0 + 2 * Q, 1);
    await add('s2', T0 + Q, T0 + 3 * Q, 2);
    await add('s3', T0, T0 + Q, 0);
    // a level on a node without a static limit has nothing to reduce
    await get().query(`INSERT INTO dr_signal (source, event_id, node_id, grid_area_id, kind, start_at, end_at, value) VALUES ('openadr', 's4', 'site-p', 'ga-p', 'simple', $1, $2, 3)`, [iso(T0), iso(T0 + Q)]);
    const source = openadrSimpleEnvelopeSource(parseSimpleReductions(loadConfig({}).OPENADR_SIMPLE_REDUCTIONS));
    const env = await source(get(), ['ga-p', 'site-p'], { startMs: T0, intervalMinutes: 15, count: 4 });
    assert.deepEqual(env, [{ nodeId: 'ga-p', importKw: [8.25, 5.5, 5.5, null], exportKw: [null, null, null, null] }]);
    assert.throws(() => parseSimpleReductions('0,0.5'), RangeError);
    assert.throws(() => loadConfig({ OPENADR_SIMPLE_REDUCTIONS: '0,2,0,0' }), /OPENADR_SIMPLE_REDUCTIONS/);
  });
});
