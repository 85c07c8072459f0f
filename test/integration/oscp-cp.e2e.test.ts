import assert from 'node:assert/strict';
import { allocate, verifyAllocation } from '../../optimizer/index.ts';
import type { AllocationInput } from '../../optimizer/model.ts';
import { insertMeasurements } from '../../services/ocpp/measurement-store.ts';
import {
  checkOfflinePeers,
  createOscpPeer,
  enqueueHeartbeats,
  enqueueMeasurements,
  getOscpPeer,
  loadOscpEnvelopes,
  oscpAfterAllocation,
  reportPlanCompliance,
  requestCapacityAdjustments,
  setOscpCpoGroup,
  startRegistration,
} from '../../services/oscp/index.ts';
import { hashToken } from '../../services/oscp/peer-store.ts';
import type { Db } from '../../services/store/db.ts';
import { setOscpGroup, upsertNodes } from '../../services/store/topology-store.ts';
import { freshPgDb, freshPgliteDb, pgAvailable, type TestDb } from '../helpers/db.ts';
import { MIN, Q, T0, aForecast, blockQ } from '../helpers/oscp-builders.ts';
import { FakeDso, callFp, type CallOptions } from '../helpers/oscp-dso.ts';
import { aRegisteredPeer, anAllocation } from '../helpers/oscp-fixtures.ts';
import { OscpInstance, settle } from '../helpers/oscp-instance.ts';
import { assertOscpValid, schemaOfEndpoint } from '../helpers/oscp-schemas.ts';

const H = { startMs: T0, intervalMinutes: 15, count: 4 };
const DSO_TOKEN = 'dso-token-for-gridflex-a';

async function count(db: Db, sql: string, params: unknown[] = []): Promise<number> {
  const [r] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params as string[]);
  return Number(r!.n);
}

/**
 * Two gridflex instances over real HTTP, each with its own database:
 * - A is the Flexibility Provider toward a DSO (a fake one) and the Capacity Provider toward B;
 * - B plays the CPO: its own FP endpoints receive A's capacity shares.
 * Registration (A starts it), handshake, forecasts, adjustment, measurements, compliance errors,
 * heartbeats and offline mode end to end; every body sent either way is checked against the official
 * OSCP 2.0 JSON schemas.
 */
describe('OSCP 2.0 both roles: gridflex A (FP toward a DSO, CP toward B) and gridflex B (a CPO)', function () {
  const dbs: TestDb[] = [];
  let a: OscpInstance;
  let b: OscpInstance;
  const dso = new FakeDso();
  let dsoPeer = '';
  /** B as seen by A (a flexibility_provider) and A as seen by B (a capacity_provider). */
  let bAtA = '';
  let aAtB = '';

  async function dsoSends(endpoint: string, body: unknown, o: CallOptions = {}) {
    assertOscpValid(schemaOfEndpoint(endpoint), body, `body the DSO sent to /${endpoint}`);
    return callFp(a.fp, endpoint, body, { token: DSO_TOKEN, ...o });
  }

  before(async () => {
    const open = (await pgAvailable()) ? freshPgDb : freshPgliteDb;
    dbs.push(await open(), await open());
    a = new OscpInstance(dbs[0]!.db, T0);
    b = new OscpInstance(dbs[1]!.db, T0);
    await Promise.all([a.start(), b.start(), dso.start()]);
    await a.db.tx((q) =>
      upsertNodes(q, [
        { id: 'ga1', kind: 'grid_area', parentId: null },
        { id: 'cp1', kind: 'connection_point', parentId: 'ga1' },
        { id: 'cpoB', kind: 'cpo', parentId: 'cp1' },
        { id: 'stA', kind: 'station', parentId: 'cpoB' },
        { id: 'eA1', kind: 'evse', parentId: 'stA', maxPowerKw: 22 },
        { id: 'eA2', kind: 'evse', parentId: 'stA', maxPowerKw: 22 },
      ]),
    );
    await b.db.tx((q) =>
      upsertNodes(q, [
        { id: 'gaB', kind: 'grid_area', parentId: null },
        { id: 'cpB', kind: 'connection_point', parentId: 'gaB' },
        { id: 'stB', kind: 'station', parentId: 'cpB' },
        { id: 'eB', kind: 'evse', parentId: 'stB' },
      ]),
    );
    // The DSO's registration with A is the FP e2e test's subject; here it starts registered.
    dsoPeer = await aRegisteredPeer(a.db, 'capacity_provider', { name: 'DSO', baseUrl: dso.baseUrl });
    await a.db.query('UPDATE oscp_peer SET inbound_token_hash = $2 WHERE id = $1', [dsoPeer, hashToken(DSO_TOKEN)]);
    await setOscpGroup(a.db, 'grp-dso', 'cp1', dsoPeer);
    await setOscpGroup(b.db, 'share-b', 'cpB');
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop(), dso.stop()]);
    for (const d of dbs) await d.drop();
  });

  it('registers both ways: A starts with B’s registration token, B registers back, both handshake', async () => {
    ({ peerId: bAtA } = await createOscpPeer(a.db, { name: 'CPO B', role: 'flexibility_provider' }));
    const { peerId, registrationToken } = await createOscpPeer(b.db, { name: 'gridflex A', role: 'capacity_provider' });
    aAtB = peerId;
    await setOscpCpoGroup(a.db, { peerId: bAtA, groupId: 'share-b', nodeId: 'cpoB' });
    // A's operator enters B's FP URL and the token B's operator handed over.
    await a.db.tx((q) => startRegistration(q, bAtA, { baseUrl: b.fp, registrationToken, publicBaseUrl: a.url }));
    const outcomes = await settle(a, b);
    assert.deepEqual(outcomes.filter((o) => !o.endsWith(':acked')), [], outcomes.join(', '));
    assert.deepEqual(a.sent.map((s) => s.action), ['register', 'handshake', 'handshake_acknowledge']);
    assert.equal(a.sent[0]!.url, `${b.fp}/register`);
    assert.deepEqual((a.sent[0]!.body as { version_url: unknown }).version_url, [{ version: '2.0', base_url: a.cp }], 'A announces its CP endpoints to a CPO');
    assert.deepEqual(b.sent.map((s) => s.action), ['register', 'handshake', 'handshake_acknowledge']);
    assert.equal(b.sent[0]!.url, `${a.cp}/register`, 'B registers back at A’s CP endpoints');

    const atA = await getOscpPeer(a.db, bAtA);
    const atB = await getOscpPeer(b.db, aAtB);
    assert.equal(atA?.state, 'handshake_done');
    assert.equal(atB?.state, 'handshake_done');
    assert.equal(atA?.awaitingRegisterBack, false);
    assert.equal(atA?.heartbeatIntervalS, 60, 'B asked A for heartbeats');
    assert.deepEqual(atB?.measurementConfiguration, ['CONTINUOUS'], 'A, as CP, asked B for measurements');
    assert.deepEqual(atA?.measurementConfiguration, [], 'B, as FP, asked A for none');
    // B's registration token is spent; A's first token stays the one B uses.
    assert.equal((await callFp(b.fp, 'heartbeat', { offline_mode_at: new Date(T0).toISOString() }, { token: registrationToken })).status, 401);
  });

  it('re-publishes the DSO’s capacity to B as B’s share, and B stores it as its forecast', async () => {
    const f = aForecast((x) => ((x.group_id = 'grp-dso'), (x.forecasted_blocks = [blockQ(0, 4, 100)])));
    assert.equal((await dsoSends('update_group_capacity_forecast', f)).status, 204);
    assert.deepEqual(a.forecastsFor, ['ga1']);
    // The orchestrator's allocation of ga1 gives B's node 40, 40, 30, 30 kW.
    const alloc = anAllocation(H, (x) => (x.nodeTotalsKw = { cp1: [40, 40, 30, 30], cpoB: [40, 40, 30, 30] }));
    const queued = await a.db.tx((q) => oscpAfterAllocation(q, { gridAreaId: 'ga1', allocation: alloc, nowMs: T0, config: a.config }));
    assert.equal(queued, 2);
    assert.deepEqual(await settle(a, b), ['update_group_capacity_forecast:acked', 'update_group_capacity_forecast:acked']);
    assert.deepEqual(b.forecastsFor, ['gaB', 'gaB']);
    const [env] = await loadOscpEnvelopes(b.db, ['cpB'], H);
    assert.deepEqual(env?.importKw, [40, 40, 30, 30]);
  });

  it('publishes the optimizer’s real share: DSO forecast → A’s envelopes → allocate() → B', async () => {
    const f = aForecast((x) => ((x.group_id = 'grp-dso'), (x.forecasted_blocks = [blockQ(0, 2, 30), blockQ(2, 4, 100)])));
    assert.equal((await dsoSends('update_group_capacity_forecast', f)).status, 204);
    const input: AllocationInput = {
      horizon: H,
      nodes: [
        { id: 'ga1', kind: 'grid_area', parentId: null },
        { id: 'cp1', kind: 'connection_point', parentId: 'ga1' },
        { id: 'cpoB', kind: 'cpo', parentId: 'cp1' },
        { id: 'stA', kind: 'station', parentId: 'cpoB' },
        { id: 'eA1', kind: 'evse', parentId: 'stA', maxPowerKw: 22 },
        { id: 'eA2', kind: 'evse', parentId: 'stA', maxPowerKw: 22 },
      ],
      envelopes: await loadOscpEnvelopes(a.db, ['ga1', 'cp1', 'cpoB', 'stA', 'eA1', 'eA2'], H),
      demands: [],
      timeLimitSec: 5,
    };
    const alloc = await allocate(input);
    assert.ok(verifyAllocation(input, alloc).ok);
    assert.equal(await a.db.tx((q) => oscpAfterAllocation(q, { gridAreaId: 'ga1', allocation: alloc, nowMs: T0, config: a.config })), 2);
    await settle(a, b);
    const [env] = await loadOscpEnvelopes(b.db, ['cpB'], H);
    // idle chargers: the share is the headroom, at most the 44 kW the two EVSEs can draw
    assert.deepEqual(env?.importKw.map((v) => Math.round(v! * 1000) / 1000), [30, 30, 44, 44]);
    // put back the forecast and share the next tests expect
    assert.equal((await dsoSends('update_group_capacity_forecast', aForecast((x) => ((x.group_id = 'grp-dso'), (x.forecasted_blocks = [blockQ(0, 4, 100)]))))).status, 204);
    const back = anAllocation(H, (x) => (x.nodeTotalsKw = { cp1: [40, 40, 30, 30], cpoB: [40, 40, 30, 30] }));
    assert.equal(await a.db.tx((q) => oscpAfterAllocation(q, { gridAreaId: 'ga1', allocation: back, nowMs: T0, config: a.config })), 2);
    await settle(a, b);
  });

  it('B asks A for more capacity; A stores the request and is told', async () => {
    const alloc = anAllocation(H, (x) => {
      x.unmet = [{ sessionId: 's1', evseId: 'eB', kwh: 20 }];
      x.binding = [{ nodeId: 'cpB', interval: 2, kind: 'import' }, { nodeId: 'cpB', interval: 3, kind: 'import' }];
    });
    const n = await b.db.tx((q) => requestCapacityAdjustments(q, { gridAreaId: 'gaB', allocation: alloc, nowMs: T0, minUnmetKwh: 10, minIntervalS: 900 }));
    assert.equal(n, 1);
    assert.deepEqual(await settle(a, b), ['adjust_group_capacity_forecast:acked']);
    const [r] = await a.db.query<{ node_id: string; body: { forecasted_blocks: { capacity: number }[] } }>(
      `SELECT node_id, body FROM oscp_inbound_report WHERE message = 'adjust_group_capacity_forecast'`,
    );
    assert.equal(r?.node_id, 'cpoB');
    assert.deepEqual(r?.body.forecasted_blocks.map((x) => x.capacity), [70], '30 kW + 20 kWh over two quarter hours');
    assert.deepEqual(a.reports, [{ gridAreaId: 'ga1', message: 'adjust_group_capacity_forecast' }]);
  });

  it('B sends A its measurements on the schedule A asked for', async () => {
    await b.db.tx((q) => insertMeasurements(q, [0, 5, 10].map((m) => ({ timeMs: T0 + m * MIN, nodeId: 'eB', sessionId: null, measurand: 'Power.Active.Import', value: 22, unit: 'kW' }))));
    assert.equal(await enqueueMeasurements(b.db, T0 + Q + 1000, { intervalS: 900 }), 1);
    assert.deepEqual(await settle(a, b), ['update_group_measurements:acked']);
    const [r] = await a.db.query<{ body: { measurements: { value: number }[] } }>(`SELECT body FROM oscp_inbound_report WHERE message = 'update_group_measurements'`);
    assert.deepEqual(r?.body.measurements.map((m) => m.value), [5.5]);
  });

  it('compliance errors: B tells A its share cannot be met; A tells the DSO its forecast cannot be met', async () => {
    const overB = anAllocation(H, (x) => (x.nodeTotalsKw = { cpB: [40, 55, 30, 30] }));
    assert.equal(await b.db.tx((q) => reportPlanCompliance(q, { gridAreaId: 'gaB', allocation: overB, toleranceKw: 1 })), 1);
    const overA = anAllocation(H, (x) => (x.nodeTotalsKw = { cp1: [120, 40, 30, 30], cpoB: [40, 40, 30, 30] }));
    assert.equal(await a.db.tx((q) => oscpAfterAllocation(q, { gridAreaId: 'ga1', allocation: overA, nowMs: T0, config: a.config })), 1, 'share unchanged: only the compliance error');
    assert.deepEqual((await settle(a, b)).sort(), ['group_capacity_compliance_error:acked', 'group_capacity_compliance_error:acked']);
    const [fromB] = await a.db.query<{ node_id: string; body: { message: string } }>(`SELECT node_id, body FROM oscp_inbound_report WHERE message = 'group_capacity_compliance_error'`);
    assert.equal(fromB?.node_id, 'cpoB');
    assert.match(fromB!.body.message, /share-b/);
    const [toDso] = dso.calls('group_capacity_compliance_error');
    assert.ok(toDso);
    assert.equal(toDso.headers.authorization, `Token tok-${dsoPeer}`);
    assertOscpValid('group-capacity-compliance-error', toDso.body);
    assert.match((toDso.body as { message: string }).message, /grp-dso.*20 kW/);
  });

  it('heartbeats both ways; B goes into offline mode for A when they stop, on A’s fallback, and back', async () => {
    assert.equal(await enqueueHeartbeats(a.db, T0), 1, 'A owes B heartbeats (B asked for 60 s); the fake DSO asked for none');
    assert.equal(await enqueueHeartbeats(b.db, T0), 1);
    assert.deepEqual((await settle(a, b)).sort(), ['heartbeat:acked', 'heartbeat:acked']);
    assert.equal((await getOscpPeer(b.db, aAtB))?.offlineModeAt, T0 + 2 * MIN);
    assert.deepEqual(await checkOfflinePeers(b.db, T0 + 2 * MIN + 1000), { gridAreaIds: ['gaB'], wentOffline: [aAtB], cameBack: [] });
    // A published FALLBACK_CONSUMPTION = its lowest share (30 kW): from the interval after T0+2min.
    assert.deepEqual((await loadOscpEnvelopes(b.db, ['cpB'], H))[0]?.importKw, [40, 30, 30, 30]);
    b.clock = T0 + 10 * MIN;
    assert.equal(await enqueueHeartbeats(a.db, T0 + 10 * MIN), 1);
    await settle(a, b);
    assert.equal((await getOscpPeer(b.db, aAtB))?.offline, false, 'the heartbeat ended offline mode at once');
    assert.deepEqual(b.forecastsFor.slice(-1), ['gaB'], 'and asked for a re-allocation');
    assert.deepEqual((await loadOscpEnvelopes(b.db, ['cpB'], H))[0]?.importKw, [40, 40, 30, 30]);
  });

  describe('refusals on the Capacity Provider endpoints (nothing stored)', () => {
    let bToken = '';
    const adjust = (change: (x: Record<string, unknown>) => void = () => undefined) => {
      const x: Record<string, unknown> = { group_id: 'share-b', type: 'CONSUMPTION', forecasted_blocks: [blockQ(0, 2, 60)] };
      change(x);
      return x;
    };
    before(async () => {
      // The token A gave B is the one in A's Register (first call A sent).
      bToken = (a.sent.find((s) => s.action === 'register')!.body as { token: string }).token;
    });

    async function refused(status: number, path: string, body: unknown, o: CallOptions = {}): Promise<void> {
      const before = await count(a.db, 'oscp_inbound_report');
      const res = await callFp(a.cp, path, body, { token: bToken, ...o });
      assert.equal(res.status, status, res.text);
      assert.equal(typeof (res.body as { message?: unknown }).message, 'string', 'an OSCP Error body');
      assertOscpValid('error', res.body);
      assert.equal(await count(a.db, 'oscp_inbound_report'), before);
    }

    it('accepts a valid adjustment request from B', async () => {
      const res = await callFp(a.cp, 'adjust_group_capacity_forecast', adjust(), { token: bToken, requestId: 'adj-1' });
      assert.equal(res.status, 204, res.text);
      assert.equal(res.headers.get('x-correlation-id'), 'adj-1');
    });
    it('a replayed X-Request-ID → 409', () => refused(409, 'adjust_group_capacity_forecast', adjust(), { requestId: 'adj-1' }));
    it('no token → 401', () => refused(401, 'adjust_group_capacity_forecast', adjust(), { token: null }));
    it('a wrong token → 401', () => refused(401, 'adjust_group_capacity_forecast', adjust(), { token: 'nope' }));
    it('the DSO’s token on the CP endpoints → 403', () => refused(403, 'adjust_group_capacity_forecast', adjust(), { token: DSO_TOKEN }));
    it('B’s token on the FP endpoints → 403', async () => {
      const res = await callFp(a.fp, 'update_group_capacity_forecast', aForecast((x) => (x.group_id = 'grp-dso')), { token: bToken });
      assert.equal(res.status, 403);
    });
    it('an unknown group → 404', () => refused(404, 'adjust_group_capacity_forecast', adjust((x) => (x.group_id = 'grp-dso'))));
    it('blocks ending before they start → 400', () =>
      refused(400, 'adjust_group_capacity_forecast', adjust((x) => (x.forecasted_blocks = [{ ...blockQ(0, 2, 60), end_time: new Date(T0 - Q).toISOString() }]))));
    it('overlapping blocks → 400', () => refused(400, 'adjust_group_capacity_forecast', adjust((x) => (x.forecasted_blocks = [blockQ(0, 2, 60), blockQ(1, 3, 60)]))));
    it('a schema-invalid body → 400', () => refused(400, 'update_group_measurements', { group_id: 'share-b', measurements: [] }));
    it('an asset measurement without a measurement → 400', () =>
      refused(400, 'update_asset_measurements', { group_id: 'share-b', measurements: [{ asset_id: 'eB', asset_category: 'CHARGING' }] }));
    it('a forecast sent to the CP endpoints → 404 (a CP does not receive forecasts)', () => refused(404, 'update_group_capacity_forecast', aForecast()));
    it('GET → 405', () => refused(405, 'heartbeat', undefined, { method: 'GET' }));
  });

  describe('Register update and unregister (PUT / DELETE /register)', () => {
    it('PUT /register with the current token rotates tokens; DELETE ends the registration', async () => {
      const bToken = (a.sent.find((s) => s.action === 'register')!.body as { token: string }).token;
      const reg = { token: 'b-rotated-token', version_url: [{ version: '2.0', base_url: b.fp }] };
      assertOscpValid('register', reg);
      const put = await callFp(a.cp, 'register', reg, { token: bToken, method: 'PUT' });
      assert.equal(put.status, 204, put.text);
      // A registers back with a new token (not delivered here: B did not issue 'b-rotated-token').
      const [row] = await a.db.query<{ action: string; token: string }>(
        `SELECT action, payload->>'token' AS token FROM outbox WHERE target = $1 AND state = 'pending' ORDER BY id DESC LIMIT 1`,
        [bAtA],
      );
      assert.equal(row?.action, 'register');
      const newToken = row.token;
      assert.notEqual(newToken, bToken);
      assert.equal((await callFp(a.cp, 'heartbeat', { offline_mode_at: new Date(T0).toISOString() }, { token: bToken })).status, 401, 'the old token is replaced');
      const del = await callFp(a.cp, 'register', undefined, { token: newToken, method: 'DELETE', raw: '' });
      assert.equal(del.status, 204, del.text);
      const peer = await getOscpPeer(a.db, bAtA);
      assert.equal(peer?.state, 'pending');
      assert.equal(peer?.hasOutboundToken, false);
      assert.equal((await callFp(a.cp, 'heartbeat', { offline_mode_at: new Date(T0).toISOString() }, { token: newToken })).status, 401);
      assert.ok((await a.db.query<{ action: string }>('SELECT action FROM audit_log WHERE subject = $1', [bAtA])).some((r) => r.action === 'oscp.unregister'));
    });
    it('PUT /register with the one-time registration token → 401', async () => {
      const { registrationToken } = await createOscpPeer(a.db, { name: 'CPO C', role: 'flexibility_provider' });
      const res = await callFp(a.cp, 'register', { token: 'x', version_url: [{ version: '2.0', base_url: 'http://c.example' }] }, { token: registrationToken, method: 'PUT' });
      assert.equal(res.status, 401);
    });
  });
});
