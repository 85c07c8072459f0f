import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { SignJWT } from 'jose';
import { createOpenadrClient, loadDrSignals, openadrEnvelopeSource, revokeOpenadrClient } from '../../services/openadr/index.ts';
import type { ChannelHandler } from '../../services/core/delivery.ts';
import type { Db } from '../../services/store/db.ts';
import { claimDue, recordAttempt, type OutboxChannel } from '../../services/store/outbox-store.ts';
import { upsertNodes } from '../../services/store/topology-store.ts';
import { forEachDriver } from '../helpers/db.ts';
import { call, fetchToken, startVtn, type VtnUnderTest } from '../helpers/openadr-http.ts';
import { checkSpecs, documentedOperations, schemaErrors } from '../helpers/openadr-spec.ts';

type Obj = Record<string, unknown> & { id: string };
const H = 3_600_000;

/** A webhook receiver: records notifications; answers with the next queued status (default 200). */
class Receiver {
  received: { auth: string | undefined; body: Record<string, unknown> }[] = [];
  statuses: number[] = [];
  private server?: Server;
  url = '';
  async start(): Promise<void> {
    const app = express();
    app.use(express.json());
    app.post('/hook', (req, res) => {
      this.received.push({ auth: req.headers.authorization, body: req.body as Record<string, unknown> });
      res.status(this.statuses.shift() ?? 200).end();
    });
    this.server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => this.server!.once('listening', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

async function deliverOpenadr(db: Db, handler: ChannelHandler): Promise<string[]> {
  const out: string[] = [];
  const rows = await claimDue(db, { channel: 'openadr' as OutboxChannel, limit: 100, staleMs: 3_600_000 });
  for (const row of rows) {
    const r = await handler(row);
    out.push(r.outcome);
    if (r.outcome === 'acked' || r.outcome === 'rejected') await recordAttempt(db, row.id, { state: r.outcome, countAttempt: true });
    else await recordAttempt(db, row.id, { state: 'pending', retryInMs: 0, countAttempt: true });
  }
  return out;
}

forEachDriver('OpenADR 3.1.0 VTN over HTTP', (get) => {
  let t: VtnUnderTest;
  const hook = new Receiver();
  const tokens: Record<string, string> = {};
  const creds: Record<string, { clientId: string; clientSecret: string }> = {};
  let boundProgram: Obj;
  let t0 = 0;

  before(async () => {
    const db = get();
    await db.tx((q) =>
      upsertNodes(q, [
        { id: 'ga1', kind: 'grid_area', parentId: null },
        { id: 'cp1', kind: 'connection_point', parentId: 'ga1' },
        { id: 'site1', kind: 'site', parentId: 'cp1' },
      ]),
    );
    t = await startVtn(db);
    t0 = Math.floor(t.clock.now / H) * H + H;
    await hook.start();
    creds.bl = await createOpenadrClient(db, { name: 'aggregator BL', role: 'bl' });
    creds.ven1 = await createOpenadrClient(db, { name: 'ven one', role: 'ven' });
    creds.ven2 = await createOpenadrClient(db, { name: 'ven two', role: 'ven' });
    creds.reader = await createOpenadrClient(db, { name: 'read-only VEN', role: 'ven', scopes: ['read_targets'] });
  });
  after(async () => {
    await t?.close();
    await hook.stop();
  });

  it('GET /auth/server names the token endpoint; POST /auth/token trades client credentials for a bearer token', async () => {
    const s = await call<{ tokenURL: string }>(t, 'GET', '/auth/server');
    assert.equal(s.status, 200);
    assert.equal(s.body.tokenURL, `${t.base}/auth/token`);
    for (const who of ['bl', 'ven1', 'ven2', 'reader']) {
      const r = await fetchToken(t, creds[who]!.clientId, creds[who]!.clientSecret);
      assert.equal(r.status, 200);
      assert.equal(r.body.token_type, 'Bearer');
      assert.equal(r.body.expires_in, 3600);
      tokens[who] = String(r.body.access_token);
    }
    const bad = await fetchToken(t, creds.bl!.clientId, 'wrong-secret');
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error, 'invalid_client');
    const scope = await fetchToken(t, creds.ven1!.clientId, creds.ven1!.clientSecret, 'write_programs');
    assert.equal(scope.status, 400);
    assert.equal(scope.body.error, 'invalid_scope');
  });

  it('refuses missing, forged, expired and revoked tokens with 401 problems, missing scopes with 403', async () => {
    const none = await call<{ status: number; title: string }>(t, 'GET', '/programs');
    assert.equal(none.status, 401);
    assert.equal(none.body.status, 401);
    const forged = await new SignJWT({ role: 'bl', scope: 'read_all' }).setProtectedHeader({ alg: 'HS256' }).setSubject(creds.bl!.clientId).sign(new TextEncoder().encode('x'.repeat(40)));
    assert.equal((await call(t, 'GET', '/programs', { token: forged })).status, 401);
    const saved = t.clock.now;
    t.clock.now += 3601_000;
    assert.equal((await call(t, 'GET', '/programs', { token: tokens.bl })).status, 401, 'expired');
    t.clock.now = saved;
    const revoked = await createOpenadrClient(get(), { name: 'gone', role: 'ven' });
    const rt = String((await fetchToken(t, revoked.clientId, revoked.clientSecret)).body.access_token);
    await revokeOpenadrClient(get(), revoked.clientId);
    assert.equal((await call(t, 'GET', '/programs', { token: rt })).status, 401, 'revoked');
    const noScope = await call<{ detail: string }>(t, 'POST', '/programs', { token: tokens.ven1, body: { programName: 'not allowed' } });
    assert.equal(noScope.status, 403);
    assert.match(noScope.body.detail, /write_programs/);
    assert.equal((await call(t, 'GET', '/vens', { token: tokens.reader })).status, 403, 'read_targets does not read ven objects');
  });

  it('creates programs with VTN metadata; a duplicate programName is 409; bad bodies are 400', async () => {
    const r = await call<Obj>(t, 'POST', '/programs', {
      token: tokens.bl,
      body: { programName: 'DR-cp1', attributes: [{ type: 'GRIDFLEX_NODE', values: ['cp1'] }], payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'IMPORT_CAPACITY_LIMIT', units: 'KW' }] },
    });
    assert.equal(r.status, 201);
    assert.equal(r.body.objectType, 'PROGRAM');
    assert.match(r.body.id, /^[a-zA-Z0-9_-]+$/);
    assert.ok(r.body.createdDateTime && r.body.modificationDateTime);
    boundProgram = r.body;
    const dup = await call(t, 'POST', '/programs', { token: tokens.bl, body: { programName: 'DR-cp1' } });
    assert.equal(dup.status, 409);
    const ignored = await call<Obj>(t, 'POST', '/programs', { token: tokens.bl, body: { programName: 'P-ignore', id: 'mine', objectType: 'EVENT' }, invalidRequest: true });
    assert.equal(ignored.status, 201);
    assert.notEqual(ignored.body.id, 'mine', 'Definitions, POST and PUT: client ids are ignored');
    assert.equal(ignored.body.objectType, 'PROGRAM');
    assert.equal((await call(t, 'POST', '/programs', { token: tokens.bl, body: {}, invalidRequest: true })).status, 400);
    assert.equal((await call(t, 'POST', '/programs', { token: tokens.bl, rawBody: '{not json', invalidRequest: true })).status, 400);
    const noNode = await call(t, 'POST', '/programs', { token: tokens.bl, body: { programName: 'P-x', attributes: [{ type: 'GRIDFLEX_NODE', values: ['nowhere'] }] } });
    assert.equal(noNode.status, 400);
    const renamed = await call(t, 'PUT', `/programs/${ignored.body.id}`, { token: tokens.bl, body: { programName: 'DR-cp1' } });
    assert.equal(renamed.status, 409);
  });

  it('pages with skip/limit in a stable order; limit above 50 is 400', async () => {
    for (const n of ['P-a', 'P-b', 'P-c']) assert.equal((await call(t, 'POST', '/programs', { token: tokens.bl, body: { programName: n } })).status, 201);
    const all = await call<Obj[]>(t, 'GET', '/programs', { token: tokens.bl });
    const page = await call<Obj[]>(t, 'GET', '/programs', { token: tokens.bl, query: { skip: 1, limit: 2 } });
    assert.deepEqual(page.body.map((p) => p.id), all.body.slice(1, 3).map((p) => p.id));
    const big = await call<{ status: number }>(t, 'GET', '/programs', { token: tokens.bl, query: { limit: 51 } });
    assert.equal(big.status, 400);
    assert.equal((await call(t, 'GET', '/programs', { token: tokens.bl, query: { skip: -1 } })).status, 400);
  });

  it('a VEN sees untargeted programs, and targeted ones only through targets granted to it (with target hiding)', async () => {
    const ven = await call<Obj>(t, 'POST', '/vens', { token: tokens.bl, body: { objectType: 'BL_VEN_REQUEST', clientID: creds.ven1!.clientId, venName: 'ven-one', targets: ['group-1'] } });
    assert.equal(ven.status, 201);
    assert.equal(ven.body.clientID, creds.ven1!.clientId);
    const g = await call<Obj>(t, 'POST', '/programs', { token: tokens.bl, body: { programName: 'P-g1', targets: ['group-1', 'group-secret'] } });
    await call(t, 'POST', '/programs', { token: tokens.bl, body: { programName: 'P-g2', targets: ['group-2'] } });
    const plain = await call<Obj[]>(t, 'GET', '/programs', { token: tokens.ven1 });
    assert.ok(plain.body.every((p) => !p.targets), 'without targets in the request only untargeted programs');
    assert.ok(plain.body.some((p) => p.id === boundProgram.id));
    const targeted = await call<Obj[]>(t, 'GET', '/programs', { token: tokens.ven1, query: { targets: ['group-1', 'group-2'] } });
    assert.deepEqual(targeted.body.map((p) => [p.programName, p.targets]), [['P-g1', ['group-1']]]);
    const other = await call<Obj[]>(t, 'GET', '/programs', { token: tokens.ven2, query: { targets: 'group-1' } });
    assert.deepEqual(other.body, [], 'a VEN without a ven object holding the target sees nothing');
    assert.equal((await call(t, 'GET', `/programs/${g.body.id}`, { token: tokens.ven2, query: { targets: 'group-1' } })).status, 404);
    assert.equal((await call(t, 'GET', `/programs/${g.body.id}`, { token: tokens.ven1, query: { targets: 'group-1' } })).status, 200);
  });

  it('a VEN creates its own ven and resources (clientID from its token); other VENs cannot see or change them', async () => {
    const v = await call<Obj>(t, 'POST', '/vens', { token: tokens.ven2, body: { objectType: 'VEN_VEN_REQUEST', venName: 'ven-two' } });
    assert.equal(v.status, 201);
    assert.equal(v.body.clientID, creds.ven2!.clientId);
    const forbidden = await call(t, 'POST', '/vens', { token: tokens.ven2, body: { objectType: 'BL_VEN_REQUEST', clientID: 'x', venName: 'sneaky', targets: ['group-1'] } });
    assert.equal(forbidden.status, 403, 'only BL writes targets');
    const r = await call<Obj>(t, 'POST', '/resources', { token: tokens.ven2, body: { objectType: 'VEN_RESOURCE_REQUEST', resourceName: 'battery-1', venID: v.body.id } });
    assert.equal(r.status, 201);
    assert.equal((await call(t, 'POST', '/resources', { token: tokens.ven2, body: { objectType: 'VEN_RESOURCE_REQUEST', resourceName: 'battery-1', venID: v.body.id } })).status, 409);
    assert.equal((await call(t, 'GET', `/vens/${v.body.id}`, { token: tokens.ven1 })).status, 404);
    assert.equal((await call(t, 'DELETE', `/resources/${r.body.id}`, { token: tokens.ven1 })).status, 404);
    assert.deepEqual((await call<Obj[]>(t, 'GET', '/resources', { token: tokens.ven1 })).body, []);
    assert.equal((await call<Obj[]>(t, 'GET', '/vens', { token: tokens.bl })).body.length, 2);
    const put = await call<Obj>(t, 'PUT', `/vens/${v.body.id}`, { token: tokens.ven2, body: { objectType: 'VEN_VEN_REQUEST', venName: 'ven-two-renamed' } });
    assert.equal(put.status, 200);
    assert.equal(put.body.venName, 'ven-two-renamed');
    assert.equal((await call(t, 'GET', `/resources/${r.body.id}`, { token: tokens.ven2 })).status, 200);
  });

  let limitEvent: Obj;
  it('an IMPORT_CAPACITY_LIMIT event on a program bound to a node becomes a capacity envelope and signals the grid area', async () => {
    t.signalsChanged.length = 0;
    const start = new Date(t0).toISOString();
    const r = await call<Obj>(t, 'POST', '/events', {
      token: tokens.bl,
      body: {
        programID: boundProgram.id,
        eventName: 'evening peak',
        payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'IMPORT_CAPACITY_LIMIT', units: 'KW' }],
        intervalPeriod: { start, duration: 'PT30M' },
        intervals: [
          { id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [40] }, { type: 'PRICE', values: [0.3, 0.5] }] },
          { id: 1, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [25] }] },
        ],
      },
    });
    assert.equal(r.status, 201);
    limitEvent = r.body;
    assert.deepEqual(t.signalsChanged, ['ga1']);
    const envs = await openadrEnvelopeSource(get(), ['ga1', 'cp1', 'site1'], { startMs: t0 - 15 * 60_000, intervalMinutes: 15, count: 6 });
    assert.deepEqual(envs, [{ nodeId: 'cp1', importKw: [null, 40, 40, 25, 25, null], exportKw: [null, null, null, null, null, null] }]);
    // The DSO tightens the first interval: the envelope follows within that interval.
    t.signalsChanged.length = 0;
    const body = { ...(r.body as Record<string, unknown>) };
    for (const k of ['id', 'createdDateTime', 'modificationDateTime', 'objectType']) delete body[k];
    (body.intervals as { payloads: { values: number[] }[] }[])[0]!.payloads[0]!.values = [30];
    const put = await call<Obj>(t, 'PUT', `/events/${limitEvent.id}`, { token: tokens.bl, body });
    assert.equal(put.status, 200);
    assert.deepEqual(t.signalsChanged, ['ga1']);
    const after = await openadrEnvelopeSource(get(), ['cp1'], { startMs: t0 - 15 * 60_000, intervalMinutes: 15, count: 6 });
    assert.deepEqual(after[0]!.importKw, [null, 30, 30, 25, 25, null]);
    const prices = await loadDrSignals(get(), ['cp1'], t0, t0 + H, ['price']);
    assert.deepEqual(prices.map((p) => [p.startMs - t0, p.endMs - t0, p.value]), [[0, 15 * 60_000, 0.3], [15 * 60_000, 30 * 60_000, 0.5]]);
  });

  it('rejects malformed intervals with 400 problems', async () => {
    const noPeriod = await call<{ detail: string }>(t, 'POST', '/events', { token: tokens.bl, body: { programID: boundProgram.id, intervals: [{ id: 0, payloads: [] }] } });
    assert.equal(noPeriod.status, 400);
    assert.match(noPeriod.body.detail, /7\.4/);
    const badDuration = await call(t, 'POST', '/events', { token: tokens.bl, body: { programID: boundProgram.id, intervalPeriod: { duration: 'one hour' }, intervals: [] }, invalidRequest: true });
    assert.equal(badDuration.status, 400);
    const badStart = await call(t, 'POST', '/events', { token: tokens.bl, body: { programID: boundProgram.id, intervalPeriod: { start: 'tomorrow' } }, invalidRequest: true });
    assert.equal(badStart.status, 400);
    assert.equal((await call(t, 'POST', '/events', { token: tokens.bl, body: { programID: 'no-such-program' } })).status, 400);
  });

  it('the active filter ignores events that have transpired', async () => {
    const past = await call<Obj>(t, 'POST', '/events', {
      token: tokens.bl,
      body: { programID: boundProgram.id, intervalPeriod: { start: new Date(t0 - 48 * H).toISOString(), duration: 'PT1H' }, intervals: [{ id: 0, payloads: [{ type: 'SIMPLE', values: [1] }] }] },
    });
    const active = await call<Obj[]>(t, 'GET', '/events', { token: tokens.bl, query: { programID: String(boundProgram.id), active: true } });
    assert.ok(active.body.some((e) => e.id === limitEvent.id));
    assert.ok(!active.body.some((e) => e.id === past.body.id));
    const every = await call<Obj[]>(t, 'GET', '/events', { token: tokens.bl, query: { programID: String(boundProgram.id) } });
    assert.ok(every.body.some((e) => e.id === past.body.id));
  });

  it('notifies webhook subscribers through the outbox with their bearer token, only of what they may see, and retries', async () => {
    const sub = await call<Obj>(t, 'POST', '/subscriptions', {
      token: tokens.ven1,
      body: { clientName: 'ven-one', objectOperations: [{ objects: ['EVENT'], operations: ['CREATE', 'DELETE'], callbackUrl: hook.url, bearerToken: 'ven1-callback-token' }], targets: ['group-1'] },
    });
    assert.equal(sub.status, 201);
    assert.equal(sub.body.clientID, creds.ven1!.clientId);
    const badHook = await call(t, 'POST', '/subscriptions', { token: tokens.ven1, body: { clientName: 'x', objectOperations: [{ objects: ['EVENT'], operations: ['CREATE'], callbackUrl: 'ftp://example.com/x' }] } });
    assert.equal(badHook.status, 400);
    const channel = t.vtn.channel;
    await deliverOpenadr(get(), channel); // earlier subscriptions' notifications, if any
    hook.received.length = 0;
    const g1 = await call<Obj>(t, 'POST', '/programs', { token: tokens.bl, body: { programName: 'P-notify', targets: ['group-1'] } });
    const visible = await call<Obj>(t, 'POST', '/events', { token: tokens.bl, body: { programID: g1.body.id, targets: ['group-1', 'group-secret'], intervalPeriod: { start: new Date(t0).toISOString(), duration: 'PT1H' }, intervals: [{ id: 0, payloads: [{ type: 'SIMPLE', values: [2] }] }] } });
    await call(t, 'POST', '/events', { token: tokens.bl, body: { programID: g1.body.id, targets: ['group-2'], intervals: [] } });
    hook.statuses.push(503);
    assert.deepEqual(await deliverOpenadr(get(), channel), ['retry']);
    assert.deepEqual(await deliverOpenadr(get(), channel), ['acked']);
    assert.equal(hook.received.length, 2, 'one failed attempt, one delivery; nothing for the group-2 event');
    const n = hook.received[1]!;
    assert.equal(n.auth, 'Bearer ven1-callback-token');
    assert.equal(n.body.operation, 'CREATE');
    assert.equal((n.body.object as Obj).id, visible.body.id);
    assert.deepEqual((n.body.object as Obj).targets, ['group-1'], 'target hiding in notifications');
    if (checkSpecs('3.1.0')) assert.deepEqual(schemaErrors('3.1.0', 'notification', n.body), []);
    assert.equal((await call(t, 'GET', `/subscriptions/${sub.body.id}`, { token: tokens.ven2 })).status, 404);
    assert.equal((await call<Obj[]>(t, 'GET', '/subscriptions', { token: tokens.ven1, query: { objects: 'EVENT' } })).body.length, 1);
    assert.equal((await call<Obj[]>(t, 'GET', '/subscriptions', { token: tokens.ven1, query: { objects: 'REPORT' } })).body.length, 0);
  });

  it('VENs report on events (clientID from the token); an OPT_OUT report takes a node out of the event', async () => {
    t.signalsChanged.length = 0;
    const rep = await call<Obj>(t, 'POST', '/reports', {
      token: tokens.ven1,
      body: {
        eventID: limitEvent.id,
        clientName: 'ven-one',
        resources: [{ resourceName: 'cp1', intervals: [{ id: 0, payloads: [{ type: 'OPT_OUT', values: [true] }, { type: 'USAGE', values: [12.5] }] }] }],
      },
    });
    assert.equal(rep.status, 201);
    assert.equal(rep.body.clientID, creds.ven1!.clientId);
    assert.deepEqual(t.signalsChanged, ['ga1']);
    const envs = await openadrEnvelopeSource(get(), ['cp1'], { startMs: t0, intervalMinutes: 15, count: 4 });
    assert.deepEqual(envs, [], 'the opted-out node no longer gets the limit');
    assert.deepEqual((await call<Obj[]>(t, 'GET', '/reports', { token: tokens.ven2 })).body, []);
    assert.equal((await call<Obj[]>(t, 'GET', '/reports', { token: tokens.bl, query: { eventID: limitEvent.id } })).body.length, 1);
    assert.equal((await call(t, 'POST', '/reports', { token: tokens.bl, body: { eventID: limitEvent.id, clientName: 'bl', resources: [] } })).status, 403, 'BL has no write_reports');
  });

  it('deleting an event removes its signals and notifies', async () => {
    t.signalsChanged.length = 0;
    const d = await call<Obj>(t, 'DELETE', `/events/${limitEvent.id}`, { token: tokens.bl });
    assert.equal(d.status, 200);
    assert.equal(d.body.id, limitEvent.id);
    assert.deepEqual(t.signalsChanged, ['ga1']);
    assert.deepEqual(await loadDrSignals(get(), ['cp1'], t0 - 100 * H, t0 + 100 * H, ['import_limit', 'price']), []);
    assert.equal((await call(t, 'GET', `/events/${limitEvent.id}`, { token: tokens.bl })).status, 404);
  });

  it('lists notifier bindings (webhook only unless an MQTT broker is configured)', async () => {
    const n = await call<Record<string, unknown>>(t, 'GET', '/notifiers', { token: tokens.ven1 });
    assert.deepEqual(n.body, { WEBHOOK: true });
    assert.equal((await call(t, 'GET', '/notifiers/mqtt/topics/programs', { token: tokens.bl })).status, 404);
  });

  it('unknown paths answer with a problem', async () => {
    const res = await fetch(`${t.base}/nothing-here`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { status: number }).status, 404);
  });

  it('serves every documented operation it was exercised on (coverage of the document by this suite)', function () {
    if (!checkSpecs('3.1.0')) this.skip();
    const documented = documentedOperations('3.1.0').map((o) => `${o.method} ${o.path}`);
    const missing = documented.filter((d) => !t.served.has(d));
    // Exercised by the MQTT suite rather than here.
    const elsewhere = missing.filter((m) => m.includes('/notifiers/mqtt/topics/') || /\{(reportID|subscriptionID)\}$/.test(m) || m.startsWith('DELETE /vens') || m.startsWith('PUT /resources') || m.startsWith('DELETE /programs'));
    assert.deepEqual(missing.filter((m) => !elsewhere.includes(m)), []);
  });
});
