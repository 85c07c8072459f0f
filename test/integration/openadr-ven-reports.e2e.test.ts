import assert from 'node:assert/strict';
import { createLogger } from '../../services/log.ts';
import { createOpenadrClient } from '../../services/openadr/index.ts';
import { createOpenadrVenClient, type VenClient } from '../../services/openadr/ven-client.ts';
import type { Db } from '../../services/store/db.ts';
import { upsertNodes } from '../../services/store/topology-store.ts';
import { forEachDriver } from '../helpers/db.ts';
import { call, fetchToken, startVtn, validatingFetch, type VtnUnderTest } from '../helpers/openadr-http.ts';
import { waitUntil } from '../helpers/wait.ts';

type Obj = Record<string, unknown> & { id: string };
type Rep = Obj & { reportName: string; resources: { resourceName: string; intervals: { id: number; intervalPeriod: { start: string; duration: string }; payloads: { type: string; values: number[] }[] }[] }[] };
const H = 3_600_000;
const M = 60_000;

/**
 * Report descriptor scheduling end to end: gridflex's VEN client against gridflex's VTN over HTTP,
 * time driven by the shared injectable clock (no sleeps). Every request and answer is checked
 * against the OpenAPI 3.1.0 document by validatingFetch / call.
 */
forEachDriver('gridflex VEN: reports when the reportDescriptors say, over HTTP', (get) => {
  let t: VtnUnderTest;
  let db: Db;
  let blCreds: { clientId: string; clientSecret: string };
  /** A BL token minted at the VTN's current (test) time: the clock jumps hours ahead. */
  const bl = async () => String((await fetchToken(t, blCreds.clientId, blCreds.clientSecret)).body.access_token);
  let net: ReturnType<typeof validatingFetch>;
  let creds: { clientId: string; clientSecret: string };
  let program: Obj;
  let t0 = 0;
  const newVen = (): VenClient =>
    createOpenadrVenClient({
      db,
      log: createLogger('silent'),
      fetchImpl: net.fetch,
      now: () => t.clock.now,
      onSignalsChanged: () => undefined,
      options: { vtnUrl: t.base, ...creds, venName: 'gridflex-rep', nodeId: 'rcp1', resources: ['rcp1'], targets: ['rep-north'] },
    });
  const measure = (ms: number, kw: number, node = 'revse1') =>
    db.query(`INSERT INTO measurement (time, node_id, measurand, value, unit) VALUES ($1, $2, 'Power.Active.Import', $3, 'kW')`, [new Date(ms).toISOString(), node, kw]);
  const reportsOf = async (eventId: string) => (await call<Rep[]>(t, 'GET', '/reports', { token: await bl(), query: { eventID: eventId } })).body;

  before(async () => {
    db = get();
    await db.tx((q) =>
      upsertNodes(q, [
        { id: 'rga1', kind: 'grid_area', parentId: null },
        { id: 'rcp1', kind: 'connection_point', parentId: 'rga1' },
        { id: 'rst1', kind: 'station', parentId: 'rcp1' },
        { id: 'revse1', kind: 'evse', parentId: 'rst1', maxPowerKw: 22 },
      ]),
    );
    t = await startVtn(db);
    t0 = Math.floor(t.clock.now / H) * H + H;
    net = validatingFetch(t);
    const b = await createOpenadrClient(db, { name: 'utility BL', role: 'bl' });
    const v = await createOpenadrClient(db, { name: 'gridflex VEN', role: 'ven' });
    creds = { clientId: v.clientId, clientSecret: v.clientSecret };
    blCreds = { clientId: b.clientId, clientSecret: b.clientSecret };
    assert.equal((await call(t, 'POST', '/vens', { token: await bl(), body: { objectType: 'BL_VEN_REQUEST', clientID: v.clientId, venName: 'gridflex-rep', targets: ['rep-north'] } })).status, 201);
    program = (await call<Obj>(t, 'POST', '/programs', { token: await bl(), body: { programName: 'Rolling reports', targets: ['rep-north'] } })).body;
  });
  after(async () => {
    await t?.close();
  });

  it('frequency 1, repeat 3: three reports, each at the end of its interval, surviving a VTN outage and a restart', async () => {
    const timing = { startInterval: 0, numIntervals: 1, frequency: 1, repeat: 3 };
    const e = (
      await call<Obj>(t, 'POST', '/events', {
        token: await bl(),
        body: {
          programID: program.id, targets: ['rep-north'],
          reportDescriptors: [{ payloadType: 'USAGE', ...timing }, { payloadType: 'DELTA_USAGE', units: 'KWH', ...timing }],
          intervalPeriod: { start: new Date(t0).toISOString(), duration: 'PT15M' },
          intervals: [10, 11, 12].map((id) => ({ id, payloads: [{ type: 'SIMPLE', values: [1] }] })),
        },
      })
    ).body;
    // 10, 20, 30 kW in the three quarter hours; 16 kW in the same windows yesterday (the baseline).
    for (const [k, kw] of [10, 20, 30].entries()) {
      await measure(t0 + k * 15 * M + 5 * M, kw);
      await measure(t0 + k * 15 * M + 5 * M - 24 * H, 16);
    }
    let ven = newVen();
    t.clock.now = t0 - M;
    assert.deepEqual(await ven.reportDue(), [], 'nothing due before the first interval ends');
    const [count] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM openadr_ven_report WHERE event_id = $1`, [e.id]);
    assert.equal(Number(count!.n), 3, 'the three reports are scheduled (persisted) as soon as the event is seen');

    t.clock.now = t0 + 15 * M - 1000;
    assert.deepEqual(await ven.reportDue(), [], 'not one second early');
    t.clock.now = t0 + 15 * M + 1000;
    assert.deepEqual(await ven.reportDue(), [e.id], 'report 1 at the end of interval 0');
    assert.deepEqual(await ven.reportDue(), [], 'sent once');

    // The VTN is away when report 2 falls due: it stays pending (back-off), across a restart.
    t.clock.now = t0 + 30 * M + 1000;
    net.down(true);
    assert.deepEqual(await ven.reportDue(), []);
    net.down(false);
    t.clock.now += 10_000;
    assert.deepEqual(await ven.reportDue(), [], 'retried after the back-off, not at once');
    ven = newVen(); // a restart: only the database is kept
    t.clock.now += 30_000;
    assert.deepEqual(await ven.reportDue(), [e.id], 'report 2, late but not lost');

    t.clock.now = t0 + 45 * M + 1000;
    assert.deepEqual(await ven.reportDue(), [e.id], 'report 3 at the end of interval 2');
    t.clock.now = t0 + 3 * H;
    assert.deepEqual(await ven.reportDue(), [], 'repeat = 3: no fourth report');

    const reps = await reportsOf(e.id);
    assert.equal(reps.length, 3);
    const byInterval = reps.map((r) => r.resources[0]!.intervals.map((iv) => [iv.id, iv.intervalPeriod.start, iv.payloads]));
    assert.deepEqual(byInterval, [
      [[10, new Date(t0).toISOString(), [{ type: 'USAGE', values: [2.5] }, { type: 'DELTA_USAGE', values: [-1.5] }]]],
      [[11, new Date(t0 + 15 * M).toISOString(), [{ type: 'USAGE', values: [5] }, { type: 'DELTA_USAGE', values: [1] }]]],
      [[12, new Date(t0 + 30 * M).toISOString(), [{ type: 'USAGE', values: [7.5] }, { type: 'DELTA_USAGE', values: [3.5] }]]],
    ]);
    assert.deepEqual(reps[0]!.payloadDescriptors, [
      { objectType: 'REPORT_PAYLOAD_DESCRIPTOR', payloadType: 'USAGE', readingType: 'DIRECT_READ', units: 'KWH' },
      { objectType: 'REPORT_PAYLOAD_DESCRIPTOR', payloadType: 'DELTA_USAGE', readingType: 'ESTIMATED', units: 'KWH' },
    ]);
  });

  it('a forecast (historical = false) goes out when its intervals start, aggregated when asked', async () => {
    const start = t0 + 5 * H;
    const e = (
      await call<Obj>(t, 'POST', '/events', {
        token: await bl(),
        body: {
          programID: program.id, targets: ['rep-north'],
          reportDescriptors: [{ payloadType: 'DEMAND', historical: false, aggregate: true, units: 'KW' }],
          intervalPeriod: { start: new Date(start).toISOString(), duration: 'PT1H' },
          intervals: [{ id: 0, payloads: [] }, { id: 1, payloads: [] }],
        },
      })
    ).body;
    await measure(start - 24 * H + 10 * M, 8);
    await measure(start - 23 * H + 10 * M, 4);
    const ven = newVen();
    t.clock.now = start - 1000;
    assert.deepEqual(await ven.reportDue(), []);
    t.clock.now = start;
    assert.deepEqual(await ven.reportDue(), [e.id]);
    const [rep] = await reportsOf(e.id);
    assert.equal(rep!.resources[0]!.resourceName, 'AGGREGATED_REPORT');
    assert.deepEqual(rep!.resources[0]!.intervals.map((iv) => [iv.id, iv.payloads]), [[0, [{ type: 'DEMAND', values: [8] }]], [1, [{ type: 'DEMAND', values: [4] }]]]);
    assert.equal((rep!.payloadDescriptors as { readingType: string }[])[0]!.readingType, 'FORECAST');
  });

  it('once started, sends a report when it falls due (its own timer, not the next poll)', async () => {
    const start = t0 + 6 * H;
    const e = (
      await call<Obj>(t, 'POST', '/events', {
        token: await bl(),
        body: { programID: program.id, targets: ['rep-north'], reportDescriptors: [{ payloadType: 'USAGE' }], intervalPeriod: { start: new Date(start).toISOString(), duration: 'PT15M' }, intervals: [{ id: 4, payloads: [] }] },
      })
    ).body;
    await measure(start + M, 12);
    const ven = createOpenadrVenClient({
      db, log: createLogger('silent'), fetchImpl: net.fetch, now: () => t.clock.now, onSignalsChanged: () => undefined,
      options: { vtnUrl: t.base, ...creds, venName: 'gridflex-rep', nodeId: 'rcp1', resources: ['rcp1'], targets: ['rep-north'], pollIntervalMs: 3_600_000 },
    });
    t.clock.now = start + 15 * M - 200;
    try {
      ven.start();
      await waitUntil('the report to be scheduled', async () => (await db.query(`SELECT 1 FROM openadr_ven_report WHERE event_id = $1`, [e.id])).length === 1, 5000);
      assert.equal((await reportsOf(e.id)).length, 0);
      t.clock.now = start + 15 * M + 1000;
      await waitUntil('the timer to send the report', async () => (await db.query(`SELECT 1 FROM openadr_report WHERE event_id = $1`, [e.id])).length === 1, 5000);
    } finally {
      ven.stop();
    }
    const [rep] = await reportsOf(e.id);
    assert.deepEqual(rep!.resources[0]!.intervals.map((iv) => [iv.id, iv.payloads]), [[4, [{ type: 'USAGE', values: [3] }]]]);
  });

  it('a pending report of an event the VEN can no longer see is forgotten, not sent', async () => {
    const start = t0 + 8 * H;
    const e = (
      await call<Obj>(t, 'POST', '/events', {
        token: await bl(),
        body: { programID: program.id, targets: ['rep-north'], reportDescriptors: [{ payloadType: 'USAGE' }], intervalPeriod: { start: new Date(start).toISOString(), duration: 'PT1H' }, intervals: [{ id: 0, payloads: [] }] },
      })
    ).body;
    const ven = newVen();
    t.clock.now = start - M;
    await ven.reportDue();
    assert.equal((await db.query(`SELECT 1 FROM openadr_ven_report WHERE event_id = $1`, [e.id])).length, 1, 'scheduled');
    // The BL removes the VEN's client from the program's targets after the report was scheduled: the
    // event is no longer visible, so the pending report is forgotten rather than sent.
    await call(t, 'PUT', `/events/${e.id}`, { token: await bl(), body: { programID: program.id, targets: ['someone-else'], reportDescriptors: [{ payloadType: 'USAGE' }], intervalPeriod: { start: new Date(start).toISOString(), duration: 'PT1H' }, intervals: [{ id: 0, payloads: [] }] } });
    t.clock.now = start + H + 1000;
    assert.deepEqual(await ven.reportDue(), []);
    const rows = await db.query(`SELECT 1 FROM openadr_ven_report WHERE event_id = $1`, [e.id]);
    assert.equal(rows.length, 0);
  });
});
