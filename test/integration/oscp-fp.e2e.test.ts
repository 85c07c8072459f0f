import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { loadConfig } from '../../services/config.ts';
import { createLogger } from '../../services/log.ts';
import { createMetrics } from '../../services/metrics.ts';
import {
  createOscpChannel,
  createOscpFpRouter,
  createOscpPeer,
  enqueueHeartbeats,
  getOscpPeer,
  heartbeatsDue,
  outboxRequestId,
  revokeOscpPeer,
} from '../../services/oscp/index.ts';
import type { Db } from '../../services/store/db.ts';
import { loadEnvelopes } from '../../services/store/forecast-store.ts';
import { recentOutbox } from '../../services/store/outbox-store.ts';
import { setOscpGroup, upsertNodes } from '../../services/store/topology-store.ts';
import { forEachDriver } from '../helpers/db.ts';
import { T0, aForecast, blockQ } from '../helpers/oscp-builders.ts';
import { FakeDso, callFp, deliverOscp, type CallOptions, type FpAnswer } from '../helpers/oscp-dso.ts';
import { assertOscpValid, schemaOfEndpoint } from '../helpers/oscp-schemas.ts';

const MAX_BODY = 16 * 1024;
const HORIZON = { startMs: T0, intervalMinutes: 15, count: 8 };

async function counts(db: Db): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['forecast', 'forecast_block', 'audit_log', 'outbox', 'oscp_request_seen']) {
    const [r] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`);
    out[t] = Number(r!.n);
  }
  return out;
}

forEachDriver('OSCP 2.0 Flexibility Provider, end to end', (get) => {
  const config = loadConfig({ NODE_ENV: 'test', OSCP_HEARTBEAT_INTERVAL_S: '60', MAX_BODY_BYTES: String(MAX_BODY) });
  const log = createLogger('silent');
  const metrics = createMetrics();
  const dso = new FakeDso();
  const forecastsFor: string[] = [];
  let server: Server;
  let publicBaseUrl = '';
  let fp = '';
  let peerId = '';
  let registrationToken = '';
  /** The token gridflex issued to the DSO in its Register call-back. */
  let dsoToUs = '';
  const dsoToken = 'dso-issued-token-for-gridflex';
  const channel = () => createOscpChannel({ db: get(), log, metrics, config });

  /** A DSO call with a schema-valid body: the body is checked against the official schema first. */
  async function dsoSends(endpoint: string, body: unknown, o: CallOptions = {}): Promise<FpAnswer & { requestId: string | null }> {
    assertOscpValid(schemaOfEndpoint(endpoint), body, `body sent to /${endpoint}`);
    return callFp(fp, endpoint, body, { token: dsoToUs, ...o });
  }

  /** Delivers the outbox and checks every body gridflex sent the DSO against the official schema. */
  async function deliver(): Promise<string[]> {
    const before = dso.received.length;
    const results = await deliverOscp(get(), channel());
    for (const r of dso.received.slice(before)) assertOscpValid(schemaOfEndpoint(r.path), r.body, `body gridflex sent to /${r.path}`);
    return results.map((r) => `${r.action}:${r.result.outcome}`);
  }

  before(async () => {
    const db = get();
    await dso.start();
    const app = express();
    app.use(
      '/oscp/fp/2.0',
      createOscpFpRouter({ db, log, metrics, config, get publicBaseUrl() { return publicBaseUrl; }, onForecast: (a) => forecastsFor.push(a) }),
    );
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    publicBaseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    fp = `${publicBaseUrl}/oscp/fp/2.0`;
    await db.tx((q) =>
      upsertNodes(q, [
        { id: 'ga1', kind: 'grid_area', parentId: null },
        { id: 'cp1', kind: 'connection_point', parentId: 'ga1', voltageV: 230, phases: 3 },
        { id: 'site1', kind: 'site', parentId: 'cp1', voltageV: 240, phases: 1 },
      ]),
    );
    await setOscpGroup(db, 'grp-A', 'cp1');
    await setOscpGroup(db, 'grp-B', 'site1');
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await dso.stop();
  });

  it('runs the registration token exchange: DSO registers, gridflex registers back with a new token', async () => {
    const db = get();
    ({ peerId, registrationToken } = await createOscpPeer(db, { name: 'DSO North', role: 'capacity_provider' }));
    const stored = await db.query<{ registration_token_hash: string }>('SELECT registration_token_hash FROM oscp_peer WHERE id = $1', [peerId]);
    assert.notEqual(stored[0]!.registration_token_hash, registrationToken, 'only the hash is stored');

    const reg = { token: dsoToken, version_url: [{ version: '2.0', base_url: dso.baseUrl }] };
    const res = await dsoSends('register', reg, { token: registrationToken });
    assert.equal(res.status, 204, res.text);
    assert.equal(res.text, '');
    assert.equal(res.headers.get('x-correlation-id'), res.requestId);
    assert.equal((await getOscpPeer(db, peerId))?.state, 'registered');

    assert.deepEqual(await deliver(), ['register:acked', 'handshake:acked']);
    const [back] = dso.calls('register');
    assert.ok(back);
    assert.equal(back.headers.authorization, `Token ${dsoToken}`, 'the call-back uses the token the DSO gave');
    assert.equal(back.headers['content-type'], 'application/json');
    const body = back.body as { token: string; version_url: { version: string; base_url: string }[] };
    assert.deepEqual(body.version_url, [{ version: '2.0', base_url: fp }]);
    assert.notEqual(body.token, registrationToken);
    dsoToUs = body.token;
    const [row] = (await recentOutbox(db, { target: peerId, limit: 10 })).filter((r) => r.action === 'register');
    assert.equal(back.headers['x-request-id'], outboxRequestId(row!), 'X-Request-ID derives from the outbox row');
    assert.deepEqual((row!.payload as { token: string }).token, 'redacted:acked', 'the issued token does not stay in the outbox');

    // then our Handshake, with what we require from the DSO
    const [hs] = dso.calls('handshake');
    assert.equal(hs?.headers.authorization, `Token ${dsoToken}`);
    assert.deepEqual(hs?.body, { required_behaviour: { heartbeat_interval: 60, measurement_configuration: [] } });
    assert.equal((await getOscpPeer(db, peerId))?.state, 'handshake_requested');

    // the one-time registration token has stopped working
    const again = await callFp(fp, 'register', reg, { token: registrationToken });
    assert.equal(again.status, 401);
  });

  it('stores the required behaviour from the DSO’s handshake_acknowledge', async () => {
    const res = await dsoSends('handshake_acknowledge', { required_behaviour: { heartbeat_interval: 30, measurement_configuration: ['CONTINUOUS'] } });
    assert.equal(res.status, 204, res.text);
    const peer = await getOscpPeer(get(), peerId);
    assert.equal(peer?.state, 'handshake_done');
    assert.equal(peer?.heartbeatIntervalS, 30);
    assert.deepEqual(peer?.measurementConfiguration, ['CONTINUOUS']);
  });

  it('answers an inbound handshake with a handshake_acknowledge carrying our required behaviour', async () => {
    const res = await dsoSends('handshake', { required_behaviour: { heartbeat_interval: 45, measurement_configuration: [] } });
    assert.equal(res.status, 204, res.text);
    assert.deepEqual(await deliver(), ['handshake_acknowledge:acked']);
    const [ack] = dso.calls('handshake_acknowledge');
    assert.deepEqual(ack?.body, { required_behaviour: { heartbeat_interval: 60, measurement_configuration: [] } });
    assert.equal((await getOscpPeer(get(), peerId))?.heartbeatIntervalS, 45);
  });

  it('stores the DSO’s heartbeat and sends ours once per interval', async () => {
    const db = get();
    const offline = new Date(Date.now() + 90_000);
    offline.setUTCMilliseconds(0);
    assert.equal((await dsoSends('heartbeat', { offline_mode_at: offline.toISOString() })).status, 204);
    const peer = await getOscpPeer(db, peerId);
    assert.equal(peer?.offlineModeAt, offline.getTime());
    assert.ok(peer?.lastHeartbeatAt && Math.abs(peer.lastHeartbeatAt - Date.now()) < 60_000);

    const now = Date.now();
    assert.deepEqual(await heartbeatsDue(db, now), [{ peerId, intervalS: 45 }]);
    assert.equal(await enqueueHeartbeats(db, now), 1);
    assert.equal(await enqueueHeartbeats(db, now + 10_000), 0, 'not again within the interval');
    assert.deepEqual(await heartbeatsDue(db, now + 45_000), [{ peerId, intervalS: 45 }]);
    assert.deepEqual(await deliver(), ['heartbeat:acked']);
    const [hb] = dso.calls('heartbeat');
    assert.deepEqual(hb?.body, { offline_mode_at: new Date(now + 90_000).toISOString() }, 'offline_mode_at = now + 2 × interval');
    assert.equal(hb?.headers.authorization, `Token ${dsoToken}`);
  });

  it('stores a forecast in kW/W as an envelope of the group’s node, then calls onForecast', async () => {
    const db = get();
    const before = await counts(db);
    const res = await dsoSends('update_group_capacity_forecast', aForecast((f) => ((f.group_id = 'grp-A'), (f.forecasted_blocks = [blockQ(0, 4, 80), blockQ(4, 8, 60_000, 'W')]))));
    assert.equal(res.status, 204, res.text);
    assert.equal(res.headers.get('x-correlation-id'), res.requestId);
    assert.deepEqual(forecastsFor, ['ga1']);
    const [env] = await loadEnvelopes(db, ['cp1'], HORIZON);
    assert.deepEqual(env?.importKw, [80, 80, 80, 80, 60, 60, 60, 60]);
    const after = await counts(db);
    assert.deepEqual(
      { forecast: after.forecast! - before.forecast!, blocks: after.forecast_block! - before.forecast_block!, audit: after.audit_log! - before.audit_log!, seen: after.oscp_request_seen! - before.oscp_request_seen! },
      { forecast: 1, blocks: 2, audit: 1, seen: 1 },
    );
    const [f] = await db.query<{ source: string; request_id: string; type: string }>('SELECT source, request_id, type FROM forecast ORDER BY id DESC LIMIT 1');
    assert.deepEqual(f, { source: `oscp:${peerId}`, request_id: res.requestId, type: 'CONSUMPTION' });
  });

  it('converts a forecast in A with the node’s voltage and phases', async () => {
    const db = get();
    // grp-B is a single-phase 240 V site: 32 A → 7.68 kW; grp-A is 3-phase 230 V: 16 A on phase ONE → 11.04 kW
    const b = await dsoSends('update_group_capacity_forecast', aForecast((f) => ((f.group_id = 'grp-B'), (f.forecasted_blocks = [blockQ(0, 8, 32, 'A', 'ALL')]))));
    assert.equal(b.status, 204, b.text);
    const a = await dsoSends('update_group_capacity_forecast', aForecast((f) => ((f.group_id = 'grp-A'), (f.type = 'GENERATION'), (f.forecasted_blocks = [blockQ(2, 6, 16, 'A', 'ONE')]))));
    assert.equal(a.status, 204, a.text);
    const envs = await loadEnvelopes(db, ['site1', 'cp1'], HORIZON);
    const site = envs.find((e) => e.nodeId === 'site1');
    const cp = envs.find((e) => e.nodeId === 'cp1');
    assert.deepEqual(site?.importKw.map((v) => (v === null ? null : Math.round(v * 1000) / 1000)), Array(8).fill(7.68));
    assert.deepEqual(cp?.exportKw.map((v) => (v === null ? null : Math.round(v * 1000) / 1000)), [null, null, 11.04, 11.04, 11.04, 11.04, null, null]);
    assert.deepEqual(forecastsFor, ['ga1', 'ga1', 'ga1']);
  });

  describe('bad input: an OSCP Error body, the status, and nothing stored', () => {
    const good = () => aForecast((f) => ((f.group_id = 'grp-A'), (f.forecasted_blocks = [blockQ(0, 1, 5)])));
    const cases: { name: string; status: number; call: () => Promise<FpAnswer>; message?: RegExp }[] = [
      { name: 'missing token', status: 401, call: () => callFp(fp, 'update_group_capacity_forecast', good(), { token: null }), message: /Authorization/ },
      { name: 'wrong token', status: 401, call: () => callFp(fp, 'update_group_capacity_forecast', good(), { token: 'nope' }) },
      { name: 'Bearer instead of Token', status: 401, call: () => callFp(fp, 'update_group_capacity_forecast', good(), { authorization: `Bearer ${dsoToUs}` }) },
      { name: 'the used registration token', status: 401, call: () => callFp(fp, 'update_group_capacity_forecast', good(), { token: registrationToken }) },
      { name: 'missing X-Request-ID', status: 400, call: () => callFp(fp, 'update_group_capacity_forecast', good(), { token: dsoToUs, requestId: null }), message: /X-Request-ID/ },
      { name: 'malformed JSON', status: 400, call: () => callFp(fp, 'update_group_capacity_forecast', null, { token: dsoToUs, raw: '{"group_id": "grp-A",' }), message: /malformed/ },
      { name: 'a body that is not JSON', status: 400, call: () => callFp(fp, 'heartbeat', null, { token: dsoToUs, raw: 'offline', contentType: 'text/plain' }), message: /JSON/ },
      { name: 'schema-invalid body', status: 400, call: () => callFp(fp, 'update_group_capacity_forecast', aForecast((f) => (f.forecasted_blocks[0]!.capacity = -1)), { token: dsoToUs }), message: /capacity/ },
      { name: 'schema-invalid handshake_acknowledge (no measurement_configuration)', status: 400, call: () => callFp(fp, 'handshake_acknowledge', { required_behaviour: { heartbeat_interval: 60 } }, { token: dsoToUs }) },
      { name: 'an energy unit', status: 400, call: () => callFp(fp, 'update_group_capacity_forecast', aForecast((f) => ((f.group_id = 'grp-A'), (f.forecasted_blocks = [blockQ(0, 1, 5, 'KWH')]))), { token: dsoToUs }), message: /energy unit/ },
      { name: 'overlapping blocks', status: 400, call: () => callFp(fp, 'update_group_capacity_forecast', aForecast((f) => ((f.group_id = 'grp-A'), (f.forecasted_blocks = [blockQ(0, 2, 5), blockQ(1, 3, 5)]))), { token: dsoToUs }), message: /overlap/ },
      { name: 'a zero heartbeat_interval', status: 400, call: () => callFp(fp, 'handshake', { required_behaviour: { heartbeat_interval: 0, measurement_configuration: [] } }, { token: dsoToUs }) },
      { name: 'register without version 2.0', status: 400, call: () => callFp(fp, 'register', { token: 'x', version_url: [{ version: '2.1', base_url: dso.baseUrl }] }, { token: dsoToUs }), message: /2\.0/ },
      { name: 'register with a non-http base_url', status: 400, call: () => callFp(fp, 'register', { token: 'x', version_url: [{ version: '2.0', base_url: 'file:///etc' }] }, { token: dsoToUs }) },
      { name: 'unknown group', status: 404, call: () => callFp(fp, 'update_group_capacity_forecast', aForecast((f) => (f.group_id = 'grp-nope')), { token: dsoToUs }), message: /grp-nope/ },
      { name: 'unknown endpoint', status: 404, call: () => callFp(fp, 'adjust_group_capacity_forecast', good(), { token: dsoToUs }) },
      { name: 'GET on an endpoint', status: 405, call: () => callFp(fp, 'heartbeat', null, { token: dsoToUs, method: 'GET' }) },
      { name: 'a segmented message', status: 400, call: () => fetchSegmented(), message: /segmented/ },
      {
        name: 'an oversized body',
        status: 413,
        call: () => callFp(fp, 'update_group_capacity_forecast', aForecast((f) => ((f.group_id = 'grp-A'), (f.forecasted_blocks = Array.from({ length: 200 }, (_, i) => blockQ(i, i + 1, 5))))), { token: dsoToUs }),
      },
    ];

    /** A first segment of two (X-Segment-Count: 2): refused, as segments are not reassembled. */
    async function fetchSegmented(): Promise<FpAnswer> {
      const res = await fetch(`${fp}/update_group_capacity_forecast`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Token ${dsoToUs}`, 'X-Request-ID': 'seg-1', 'X-Segment-Index': '1', 'X-Segment-Count': '2' },
        body: JSON.stringify(good()),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, body: JSON.parse(text) as unknown };
    }

    for (const c of cases) {
      it(`${c.name} → ${c.status}`, async () => {
        const db = get();
        const before = await counts(db);
        const calls = forecastsFor.length;
        const res = await c.call();
        assert.equal(res.status, c.status, res.text);
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
        assertOscpValid('error', res.body, 'error body');
        const message = (res.body as { message?: unknown }).message;
        assert.equal(typeof message, 'string');
        if (c.message) assert.match(message as string, c.message);
        assert.deepEqual(await counts(db), before);
        assert.equal(forecastsFor.length, calls);
      });
    }

    it('echoes X-Request-ID as X-Correlation-ID on errors too', async () => {
      const res = await callFp(fp, 'update_group_capacity_forecast', good(), { token: 'nope', requestId: 'err-corr-1' });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('x-correlation-id'), 'err-corr-1');
    });

    it('replayed X-Request-ID → 409 and nothing stored twice; a rejected message does not burn its id', async () => {
      const db = get();
      const bad = await callFp(fp, 'update_group_capacity_forecast', aForecast((f) => (f.group_id = 'grp-nope')), { token: dsoToUs, requestId: 'replay-1' });
      assert.equal(bad.status, 404);
      const first = await dsoSends('update_group_capacity_forecast', good(), { requestId: 'replay-1' });
      assert.equal(first.status, 204, first.text);
      const before = await counts(db);
      const replay = await dsoSends('update_group_capacity_forecast', good(), { requestId: 'replay-1' });
      assert.equal(replay.status, 409, replay.text);
      assertOscpValid('error', replay.body);
      assert.deepEqual(await counts(db), before);
      const [n] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM forecast WHERE request_id = 'replay-1'`);
      assert.equal(Number(n!.n), 1);
    });

    it('a revoked peer → 403', async () => {
      const db = get();
      const other = await createOscpPeer(db, { name: 'DSO South', role: 'capacity_provider' });
      const reg = await dsoSends('register', { token: 'south-token', version_url: [{ version: '2.0', base_url: dso.baseUrl }] }, { token: other.registrationToken });
      assert.equal(reg.status, 204, reg.text);
      // the token gridflex is about to send to this DSO, read where the test can see it: the outbox
      const [row] = await db.query<{ token: string }>(`SELECT payload->>'token' AS token FROM outbox WHERE target = $1 AND action = 'register'`, [other.peerId]);
      assert.equal((await callFp(fp, 'heartbeat', { offline_mode_at: new Date().toISOString() }, { token: row!.token })).status, 204);
      assert.ok(await revokeOscpPeer(db, other.peerId));
      const before = await counts(db);
      const res = await callFp(fp, 'heartbeat', { offline_mode_at: new Date().toISOString() }, { token: row!.token });
      assert.equal(res.status, 403);
      assertOscpValid('error', res.body);
      assert.deepEqual(await counts(db), before);
      // and nothing is sent to it any more
      assert.deepEqual(await deliver(), ['register:rejected']);
    });
  });

  it('counts every inbound message by endpoint and status', async () => {
    const text = await metrics.registry.getSingleMetricAsString('gridflex_oscp_messages_total');
    assert.match(text, /direction="in",message="update_group_capacity_forecast",status="204"/);
    assert.match(text, /direction="in",message="register",status="401"/);
    assert.match(text, /direction="out",message="register",status="204"/);
  });
});
