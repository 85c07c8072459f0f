import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createLogger } from '../../services/log.ts';
import { createOpenadrClient, openadrEnvelopeSource } from '../../services/openadr/index.ts';
import { createOpenadrVenClient, type VenClient } from '../../services/openadr/ven-client.ts';
import type { OutboxChannel } from '../../services/store/outbox-store.ts';
import { claimDue, recordAttempt } from '../../services/store/outbox-store.ts';
import { upsertNodes } from '../../services/store/topology-store.ts';
import { forEachDriver } from '../helpers/db.ts';
import { call, fetchToken, startVtn, validatingFetch, type VtnUnderTest } from '../helpers/openadr-http.ts';
import { waitUntil } from '../helpers/wait.ts';

type Obj = Record<string, unknown> & { id: string };
const H = 3_600_000;

forEachDriver('gridflex as OpenADR 3.1.0 VEN toward a gridflex VTN, over HTTP', (get) => {
  let t: VtnUnderTest;
  let bl = '';
  let ven: VenClient;
  let net: ReturnType<typeof validatingFetch>;
  let hookServer: Server;
  const changed: string[] = [];
  let program: Obj;
  let t0 = 0;
  const horizon = () => ({ startMs: t0, intervalMinutes: 15, count: 4 });

  before(async () => {
    const db = get();
    await db.tx((q) =>
      upsertNodes(q, [
        { id: 'ga1', kind: 'grid_area', parentId: null },
        { id: 'cp1', kind: 'connection_point', parentId: 'ga1' },
        { id: 'st1', kind: 'station', parentId: 'cp1' },
        { id: 'evse1', kind: 'evse', parentId: 'st1', maxPowerKw: 22 },
      ]),
    );
    t = await startVtn(db);
    t0 = Math.floor(t.clock.now / H) * H + H;
    net = validatingFetch(t);
    const b = await createOpenadrClient(db, { name: 'utility BL', role: 'bl' });
    const v = await createOpenadrClient(db, { name: 'gridflex VEN', role: 'ven' });
    bl = String((await fetchToken(t, b.clientId, b.clientSecret)).body.access_token);
    // The utility grants the target 'gridflex-north' to our ven before we connect.
    assert.equal((await call(t, 'POST', '/vens', { token: bl, body: { objectType: 'BL_VEN_REQUEST', clientID: v.clientId, venName: 'gridflex-north', targets: ['gridflex-north'] } })).status, 201);
    program = (await call<Obj>(t, 'POST', '/programs', { token: bl, body: { programName: 'Utility capacity DR', targets: ['gridflex-north'] } })).body;

    const app = express();
    hookServer = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => hookServer.once('listening', () => r()));
    const callbackUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/openadr/ven/callback`;
    ven = createOpenadrVenClient({
      db,
      log: createLogger('silent'),
      fetchImpl: net.fetch,
      now: () => t.clock.now,
      onSignalsChanged: (a) => changed.push(a),
      options: { vtnUrl: t.base, clientId: v.clientId, clientSecret: v.clientSecret, venName: 'gridflex-north', nodeId: 'cp1', resources: ['cp1'], targets: ['gridflex-north'], callbackUrl, callbackToken: 'callback-secret-for-the-vtn' },
    });
    app.use('/openadr/ven/callback', ven.webhookRouter);
  });
  after(async () => {
    ven?.stop();
    hookServer?.closeAllConnections();
    await new Promise<void>((r) => (hookServer ? hookServer.close(() => r()) : r()));
    await t?.close();
  });

  it('fetches a token, finds the ven the utility made for it, registers its resource and subscribes', async () => {
    const r = await ven.syncOnce();
    assert.equal(r.ok, true, r.error);
    assert.ok(ven.venId());
    const vens = await call<Obj[]>(t, 'GET', '/vens', { token: bl });
    assert.equal(vens.body.length, 1, 'no second ven: the one BL created is reused');
    const res = await call<Obj[]>(t, 'GET', '/resources', { token: bl, query: { venID: ven.venId()! } });
    assert.deepEqual(res.body.map((x) => x.resourceName), ['cp1']);
    const subs = await call<Obj[]>(t, 'GET', '/subscriptions', { token: bl });
    assert.equal(subs.body.length, 1);
    assert.ok(net.calls.includes('POST /auth/token'));
  });

  it("maps the utility's capacity event to an envelope on its node and signals the grid area", async () => {
    changed.length = 0;
    await call(t, 'POST', '/events', {
      token: bl,
      body: {
        programID: program.id, targets: ['gridflex-north'],
        payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'IMPORT_CAPACITY_LIMIT', units: 'KW' }],
        intervalPeriod: { start: new Date(t0).toISOString(), duration: 'PT30M' },
        intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [80] }] }],
      },
    });
    const r = await ven.syncOnce();
    assert.equal(r.ok, true, r.error);
    assert.equal(r.events, 1);
    assert.deepEqual(changed, ['ga1']);
    assert.deepEqual((await openadrEnvelopeSource(get(), ['cp1'], horizon()))[0]!.importKw, [80, 80, null, null]);
    assert.equal((await ven.syncOnce()).changed, false, 'an unchanged VTN changes nothing');
  });

  it('follows a new event pushed by webhook (VTN outbox → VEN callback → sync)', async () => {
    changed.length = 0;
    await call(t, 'POST', '/events', {
      token: bl,
      body: { programID: program.id, targets: ['gridflex-north'], intervalPeriod: { start: new Date(t0 + 30 * 60_000).toISOString(), duration: 'PT30M' }, intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [50] }] }] },
    });
    const rows = await claimDue(get(), { channel: 'openadr' as OutboxChannel, limit: 10, staleMs: 3_600_000 });
    assert.equal(rows.length, 2, 'one notification per event created since the subscription');
    for (const row of rows) {
      assert.equal((await t.vtn.channel(row)).outcome, 'acked');
      await recordAttempt(get(), row.id, { state: 'acked', countAttempt: true });
    }
    await waitUntil('the VEN to sync after the webhook', () => changed.includes('ga1'), 5000);
    assert.deepEqual((await openadrEnvelopeSource(get(), ['cp1'], horizon()))[0]!.importKw, [80, 80, 50, 50]);
  });

  it('keeps the last signals while the VTN is down and catches up when it is back', async () => {
    net.down(true);
    const r = await ven.syncOnce();
    net.down(false);
    assert.equal(r.ok, false);
    assert.deepEqual((await openadrEnvelopeSource(get(), ['cp1'], horizon()))[0]!.importKw, [80, 80, 50, 50]);
    const [first] = (await call<Obj[]>(t, 'GET', '/events', { token: bl, query: { programID: program.id } })).body;
    await call(t, 'DELETE', `/events/${first!.id}`, { token: bl });
    assert.equal((await ven.syncOnce()).ok, true);
    assert.deepEqual((await openadrEnvelopeSource(get(), ['cp1'], horizon()))[0]!.importKw, [null, null, 50, 50]);
  });

  it('reports measured usage per event interval from the measurement table', async () => {
    const past = await call<Obj>(t, 'POST', '/events', {
      token: bl,
      body: { programID: program.id, targets: ['gridflex-north'], intervalPeriod: { start: new Date(t0 - 3 * H).toISOString(), duration: 'PT1H' }, intervals: [{ id: 7, payloads: [{ type: 'SIMPLE', values: [1] }] }] },
    });
    for (const [min, kw] of [[10, 10], [40, 20]] as const) {
      await get().query(`INSERT INTO measurement (time, node_id, measurand, value, unit) VALUES ($1, 'evse1', 'Power.Active.Import', $2, 'kW')`, [new Date(t0 - 3 * H + min * 60_000).toISOString(), kw]);
    }
    const r = await ven.reportUsage(past.body.id);
    assert.equal(r.status, 201);
    const [rep] = (await call<Obj[]>(t, 'GET', '/reports', { token: bl, query: { eventID: past.body.id } })).body;
    assert.deepEqual((rep!.resources as { intervals: unknown }[])[0]!.intervals, [
      { id: 7, intervalPeriod: { start: new Date(t0 - 3 * H).toISOString(), duration: 'PT3600S' }, payloads: [{ type: 'USAGE', values: [15] }] },
    ]);
  });

  it('reports once, after the event, on events whose reportDescriptors ask for USAGE and BASELINE', async () => {
    const start = t0 - 5 * H;
    const e = await call<Obj>(t, 'POST', '/events', {
      token: bl,
      body: {
        programID: program.id, targets: ['gridflex-north'],
        reportDescriptors: [{ payloadType: 'USAGE' }, { payloadType: 'BASELINE' }],
        intervalPeriod: { start: new Date(start).toISOString(), duration: 'PT1H' },
        intervals: [{ id: 3, payloads: [{ type: 'SIMPLE', values: [2] }] }],
      },
    });
    const at = (ms: number, kw: number) => get().query(`INSERT INTO measurement (time, node_id, measurand, value, unit) VALUES ($1, 'evse2', 'Power.Active.Import', $2, 'kW')`, [new Date(ms).toISOString(), kw]);
    await get().tx((q) => upsertNodes(q, [{ id: 'evse2', kind: 'evse', parentId: 'st1', maxPowerKw: 22 }]));
    await at(start + 5 * 60_000, 6); // during the event
    await at(start - 86_400_000 + 5 * 60_000, 18); // same window yesterday
    await at(start - 2 * 86_400_000 + 5 * 60_000, 12); // and the day before
    assert.deepEqual(await ven.reportDue(), [e.body.id]);
    assert.deepEqual(await ven.reportDue(), [], 'reported once');
    const [rep] = (await call<Obj[]>(t, 'GET', '/reports', { token: bl, query: { eventID: e.body.id } })).body;
    const [iv] = (rep!.resources as { intervals: { id: number; payloads: unknown }[] }[])[0]!.intervals;
    assert.equal(iv!.id, 3);
    assert.deepEqual(iv!.payloads, [{ type: 'USAGE', values: [6] }, { type: 'BASELINE', values: [15] }]);
  });

  it('refuses callbacks without the bearer token it gave the VTN', async () => {
    const port = (hookServer.address() as AddressInfo).port;
    const res = await fetch(`http://127.0.0.1:${port}/openadr/ven/callback`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 401);
  });
});
