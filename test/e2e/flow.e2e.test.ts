import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { loadConfig } from '../../services/config.ts';
import { startGridflex, type Gridflex } from '../../services/main.ts';
import { SimDso } from '../../services/demo/sim-dso.ts';
import { SimStation } from '../../services/demo/sim-station.ts';
import { alignToInterval } from '../../optimizer/model.ts';
import { freshPgDb, pgAvailable, type TestDb } from '../helpers/db.ts';
import { MQTT_TEST_URL, mosquittoAvailable } from '../helpers/mqtt.ts';
import { assertOscpValid, schemaOfEndpoint } from '../helpers/oscp-schemas.ts';
import { waitUntil } from '../helpers/wait.ts';

const Q = 15 * 60_000;
const ADMIN = 'e2e-admin-token-' + randomBytes(8).toString('hex');

/** kW limit of a received profile at time `atMs` (W or A schedules). */
function limitAt(payload: Record<string, unknown>, atMs: number): number | undefined {
  const prof = (payload.csChargingProfiles ?? payload.chargingProfile) as Record<string, unknown>;
  const raw = prof.chargingSchedule as Record<string, unknown> | Record<string, unknown>[];
  const sched = Array.isArray(raw) ? raw[0]! : raw;
  const start = Date.parse(String(sched.startSchedule));
  const periods = sched.chargingSchedulePeriod as { startPeriod: number; limit: number }[];
  const duration = typeof sched.duration === 'number' ? sched.duration : Infinity;
  const elapsed = (atMs - start) / 1000;
  if (elapsed < 0 || elapsed >= duration) return undefined;
  let cur: number | undefined;
  for (const p of periods) if (p.startPeriod <= elapsed) cur = p.limit;
  if (cur === undefined) return undefined;
  return sched.chargingRateUnit === 'A' ? (cur * 230 * 3) / 1000 : cur / 1000;
}

function purposeOf(payload: Record<string, unknown>): string {
  const prof = (payload.csChargingProfiles ?? payload.chargingProfile) as Record<string, unknown>;
  return String(prof.chargingProfilePurpose);
}

function latestOf(s: SimStation, purpose: string, sinceMs: number): Record<string, unknown> | undefined {
  const got = s.received.filter((r) => r.at >= sinceMs && purposeOf(r.payload) === purpose);
  return got.at(-1)?.payload;
}

describe('e2e: OSCP forecast → GLPK allocation → OCPP charging profiles', function () {
  this.timeout(120_000);
  let g: Gridflex;
  let pg: TestDb | undefined;
  let dataDir: string | undefined;
  let dso: SimDso;
  let sub: mqtt.MqttClient;
  const mqttMessages = new Map<string, { stationCapKw: number[]; startAt: string }>();
  const prefix = `gridflex-e2e-${randomBytes(4).toString('hex')}`;
  const stations: SimStation[] = [];
  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${g.url}/api/v1${p}`, { method, headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  before(async () => {
    const env: Record<string, string> = {
      PORT: '0', HOST: '127.0.0.1', GRIDFLEX_ADMIN_TOKEN: ADMIN, LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
      REALLOCATE_DEBOUNCE_MS: '30', OUTBOX_POLL_MS: '100', MQTT_TOPIC_PREFIX: prefix, MQTT_EMBEDDED_PORT: '0',
    };
    if (await pgAvailable()) {
      pg = await freshPgDb();
      env.DATABASE_URL = pg.url!;
    } else {
      dataDir = await mkdtemp(path.join(tmpdir(), 'gridflex-e2e-'));
      env.GRIDFLEX_DATA_DIR = dataDir;
    }
    if (await mosquittoAvailable()) env.MQTT_URL = MQTT_TEST_URL;
    g = await startGridflex(loadConfig(env));
    sub = mqtt.connect(g.mqttUrl);
    await new Promise<void>((resolve, reject) => {
      sub.once('connect', () => resolve());
      sub.once('error', reject);
    });
    await sub.subscribeAsync(`${prefix}/setpoints/#`, { qos: 1 });
    sub.on('message', (topic, buf) => mqttMessages.set(topic, JSON.parse(buf.toString()) as { stationCapKw: number[]; startAt: string }));
  });

  after(async () => {
    await Promise.all(stations.map((s) => s.close()));
    await dso?.stop();
    await sub?.endAsync();
    await g?.stop();
    await pg?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('imports a topology and station passwords over the admin API', async () => {
    const evses = (station: string, n: number) => Array.from({ length: n }, (_, i) => ({ id: `${station}-${i + 1}`, kind: 'evse', parentId: station, maxPowerKw: 22, ocppEvseId: i + 1 }));
    const r = await api('PUT', '/topology', {
      nodes: [
        { id: 'ga-e2e', kind: 'grid_area', parentId: null, importLimitKw: 200 },
        { id: 'site-1', kind: 'site', parentId: 'ga-e2e', importLimitKw: 100 },
        { id: 'site-2', kind: 'site', parentId: 'ga-e2e', importLimitKw: 100 },
        { id: 'CS-201', kind: 'station', parentId: 'site-1' },
        ...evses('CS-201', 2),
        { id: 'CS-16', kind: 'station', parentId: 'site-1' },
        ...evses('CS-16', 2),
        { id: 'CS-IDLE', kind: 'station', parentId: 'site-2' },
        ...evses('CS-IDLE', 1),
      ],
      oscpGroups: [{ groupId: 'grp-e2e', nodeId: 'ga-e2e' }],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    for (const id of ['CS-201', 'CS-16', 'CS-IDLE']) {
      const p = await api('POST', `/stations/${id}/password`, { password: `pw-${id}-0123456789abcdef` });
      assert.equal(p.status, 201);
    }
    const bad = await api('PUT', '/topology', { nodes: [{ id: 'x', kind: 'evse', parentId: 'site-1' }] });
    assert.equal(bad.status, 422);
  });

  it('rejects a station with a wrong password and accepts the real ones (1.6J and 2.0.1)', async () => {
    const url = `${g.url.replace(/^http/, 'ws')}/ocpp`;
    const wrong = new SimStation({ url, stationId: 'CS-201', password: 'not-the-password-at-all', version: '2.0.1', evseCount: 2 });
    wrong.client.on('error', () => undefined);
    await assert.rejects(wrong.client.connect());
    await wrong.close();
    stations.push(
      new SimStation({ url, stationId: 'CS-201', password: 'pw-CS-201-0123456789abcdef', version: '2.0.1', evseCount: 2, evMaxKw: 22 }),
      new SimStation({ url, stationId: 'CS-16', password: 'pw-CS-16-0123456789abcdef', version: '1.6', evseCount: 2, evMaxKw: 22 }),
      new SimStation({ url, stationId: 'CS-IDLE', password: 'pw-CS-IDLE-0123456789abcdef', version: '2.0.1', evseCount: 1 }),
    );
    for (const s of stations) await s.connect();
    await stations[0]!.startCharging(1, { energyKwh: 40, departure: new Date(Date.now() + 4 * 3_600_000) });
    await stations[0]!.startCharging(2);
    await stations[1]!.startCharging(1);
  });

  it('registers a DSO over OSCP 2.0 with the token exchange', async () => {
    const peer = await api('POST', '/oscp/peers', { name: 'E2E DSO', role: 'capacity_provider' });
    assert.equal(peer.status, 201, JSON.stringify(peer.body));
    dso = new SimDso(`${g.url}/oscp/fp/2.0`);
    await dso.start();
    assert.equal(await dso.register(String(peer.body.registrationToken)), 204);
    await waitUntil('gridflex to register back at the DSO', () => dso.isRegistered());
    // the registration token is single-use
    assert.equal(await dso.register(String(peer.body.registrationToken)), 401);
  });

  async function postAndCheck(levels: (i: number) => number) {
    const since = Date.now();
    const start = alignToInterval(since);
    const blocks = Array.from({ length: 96 }, (_, i) => ({ start: new Date(start + i * Q), end: new Date(start + (i + 1) * Q), kw: levels(i) }));
    assert.equal(await dso.postForecast('grp-e2e', blocks), 204);
    await waitUntil('every station to receive its new station-wide profile', () =>
      stations.every((s) => latestOf(s, s.version === '1.6' ? 'ChargePointMaxProfile' : 'ChargingStationMaxProfile', since) !== undefined),
    );
    await g.orchestrator.idle();
    await g.dispatcher.runOnce();
    // Every interval: the station-wide limits sent add up to no more than the forecast; no TxProfile exceeds its station's limit.
    for (let i = 0; i < 96; i++) {
      const at = start + i * Q + Q / 2;
      let sum = 0;
      for (const s of stations) {
        const max = latestOf(s, s.version === '1.6' ? 'ChargePointMaxProfile' : 'ChargingStationMaxProfile', since)!;
        const stationKw = limitAt(max, at);
        assert.notEqual(stationKw, undefined, `${s.opts.stationId} has no limit in interval ${i}`);
        sum += stationKw!;
        for (const evse of [1, 2]) {
          const last = s.received.filter((x) => x.at >= since && purposeOf(x.payload) === 'TxProfile' && Number(x.payload.evseId ?? x.payload.connectorId) === evse).at(-1);
          if (!last) continue;
          const tx = limitAt(last.payload, at);
          if (process.env.E2E_DEBUG && tx !== undefined && tx > stationKw! + 1e-6) console.log(JSON.stringify(s.received.filter((x) => x.at >= since), null, 1));
          if (tx !== undefined) assert.ok(tx <= stationKw! + 1e-6, `${s.opts.stationId} TxProfile ${tx} kW above its station limit ${stationKw} kW in interval ${i}`);
        }
      }
      assert.ok(sum <= levels(i) + 1e-6, `interval ${i}: stations may draw ${sum.toFixed(2)} kW, forecast allows ${levels(i)} kW`);
    }
    // The session that told its needs over ISO 15118 gets schedules to choose from (its SAScheduleList):
    // every one of them within the station's limit in every interval.
    const iso = stations[0]!.received.filter((x) => x.at >= since && purposeOf(x.payload) === 'TxProfile' && x.payload.evseId === 1).at(-1)!.payload;
    const options = (iso.chargingProfile as { chargingSchedule: Record<string, unknown>[] }).chargingSchedule;
    assert.ok(options.length >= 2, `SAScheduleList of ${options.length}`);
    const max201 = latestOf(stations[0]!, 'ChargingStationMaxProfile', since)!;
    for (const [k, sched] of options.entries()) {
      for (let i = 0; i < 96; i++) {
        const at = start + i * Q + Q / 2;
        const one = limitAt({ chargingProfile: { chargingSchedule: [sched] } }, at);
        if (one !== undefined) assert.ok(one <= limitAt(max201, at)! + 1e-6, `schedule ${k} interval ${i}: ${one} kW`);
      }
    }
    // Running transactions got a TxProfile.
    assert.ok(latestOf(stations[0]!, 'TxProfile', since), 'the 2.0.1 transaction has a TxProfile');
    assert.ok(latestOf(stations[1]!, 'TxProfile', since), 'the 1.6 transaction has a TxProfile');
    return since;
  }

  it('turns a forecast into profiles that keep the grid area within it in every interval', async () => {
    await postAndCheck((i) => (i < 8 ? 30 : 50));
    assert.ok(stations[0]!.allowedKw(1) > 0, 'the EV with needs is charging');
  });

  it('follows a lower forecast', async () => {
    const before = stations.map((s) => s.stationLimitKw());
    await postAndCheck(() => 12);
    const after = stations.map((s) => s.stationLimitKw()!);
    assert.ok(after.reduce((a, b) => a + b, 0) <= 12 + 1e-6);
    assert.notDeepEqual(after, before);
  });

  it('turns an OpenADR 3 capacity event published on the VTN into lower profiles', async () => {
    const client = await api('POST', '/openadr/clients', { name: 'E2E aggregator', role: 'bl' });
    assert.equal(client.status, 201, JSON.stringify(client.body));
    const tok = await fetch(`${g.url}/openadr/3.1.0/auth/token`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: String(client.body.clientId), client_secret: String(client.body.clientSecret) }),
    });
    assert.equal(tok.status, 200);
    const bearer = { Authorization: `Bearer ${((await tok.json()) as { access_token: string }).access_token}`, 'Content-Type': 'application/json' };
    const prog = await fetch(`${g.url}/openadr/3.1.0/programs`, {
      method: 'POST', headers: bearer,
      body: JSON.stringify({ programName: 'e2e-capacity', attributes: [{ type: 'GRIDFLEX_NODE', values: ['ga-e2e'] }],
        payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'IMPORT_CAPACITY_LIMIT', units: 'KW' }] }),
    });
    assert.equal(prog.status, 201);
    const programID = ((await prog.json()) as { id: string }).id;
    const since = Date.now();
    const start = alignToInterval(since);
    const ev = await fetch(`${g.url}/openadr/3.1.0/events`, {
      method: 'POST', headers: bearer,
      body: JSON.stringify({ programID, eventName: 'e2e-cap-5kw', intervalPeriod: { start: new Date(start).toISOString(), duration: 'PT2H' },
        intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [5] }] }] }),
    });
    assert.equal(ev.status, 201);
    await waitUntil('profiles under the 5 kW event', () =>
      stations.every((s) => latestOf(s, s.version === '1.6' ? 'ChargePointMaxProfile' : 'ChargingStationMaxProfile', since) !== undefined),
    );
    await g.orchestrator.idle();
    await g.dispatcher.runOnce();
    for (let i = 0; i < 8; i++) {
      const at = start + i * Q + Q / 2;
      const sum = stations.reduce((acc, s) => acc + (limitAt(latestOf(s, s.version === '1.6' ? 'ChargePointMaxProfile' : 'ChargingStationMaxProfile', since)!, at) ?? Infinity), 0);
      assert.ok(sum <= 5 + 1e-6, `interval ${i}: ${sum} kW allowed under a 5 kW OpenADR event`);
    }
    // the OSCP forecast (12 kW) applies again after the event
    const after = start + 9 * Q;
    const sumAfter = stations.reduce((acc, s) => acc + (limitAt(latestOf(s, s.version === '1.6' ? 'ChargePointMaxProfile' : 'ChargingStationMaxProfile', since)!, after) ?? 0), 0);
    assert.ok(sumAfter > 5 && sumAfter <= 12 + 1e-6, `after the event: ${sumAfter} kW`);
    assert.equal((await fetch(`${g.url}/openadr/3.1.0/events/${((await ev.json()) as { id: string }).id}`, { method: 'DELETE', headers: bearer })).status, 200);
  });

  it('publishes each station’s setpoints over MQTT within the forecast', async () => {
    await waitUntil('MQTT setpoints for every station', () => ['CS-201', 'CS-16', 'CS-IDLE'].every((id) => mqttMessages.get(`${prefix}/setpoints/${id}`)?.stationCapKw.every((v) => v <= 12 + 1e-6)));
    const total = ['CS-201', 'CS-16', 'CS-IDLE'].map((id) => mqttMessages.get(`${prefix}/setpoints/${id}`)!.stationCapKw[0]!).reduce((a, b) => a + b, 0);
    assert.ok(total <= 12 + 1e-6);
  });

  it('re-sends the current profile to a station that reconnects', async () => {
    const s = stations[2]!;
    await s.close();
    const since = Date.now();
    const again = new SimStation({ ...s.opts });
    stations[2] = again;
    await again.connect();
    await waitUntil('the reconnected station to get its profile again', () => latestOf(again, 'ChargingStationMaxProfile', since) !== undefined);
  });

  it('records every station’s answer and exposes the schedule on the admin API', async () => {
    const r = await api('GET', '/stations/CS-16/schedule');
    assert.equal(r.status, 200);
    const msgs = r.body.messages as { state: string; action: string }[];
    assert.ok(msgs.some((m) => m.action === 'SetChargingProfile' && m.state === 'acked'));
    const peers = (await api('GET', '/oscp/peers')).body.peers as { id: string; state: string }[];
    assert.equal(peers.length, 1);
    assert.equal(peers[0]!.state, 'handshake_done');
    const oscpOut = (await api('GET', `/outbox?target=${peers[0]!.id}`)).body.messages as { action: string; state: string }[];
    assert.ok(oscpOut.length >= 2);
    for (const m of oscpOut) assert.equal(m.state, 'acked', `OSCP ${m.action} to the DSO was ${m.state}`);
    // closed loop: the stations' composite schedules were read back and match what was sent
    await waitUntil('composite read-backs', async () => ((await api('GET', '/grid-areas/ga-e2e/compliance')).body.compliance as { checks: number }).checks > 0);
    const c = (await api('GET', '/grid-areas/ga-e2e/compliance')).body.compliance as { checks: number; deviations: number };
    if (c.deviations > 0) console.log(JSON.stringify(await g.db.query("SELECT station_id, ocpp_evse_id, kind, excess_kw, detail, at FROM ocpp_compliance WHERE NOT ok ORDER BY at"), null, 0));
    assert.equal(c.deviations, 0, JSON.stringify(c));
    const cs = (await api('GET', '/stations/CS-16/compliance')).body;
    assert.equal(cs.flag, null);
    assert.equal((cs.capabilities as { maxPeriods?: number }).maxPeriods, 48);
    const alloc = await api('GET', '/grid-areas/ga-e2e/allocation');
    assert.equal(alloc.status, 200);
    assert.equal((alloc.body.run as { verified: boolean }).verified, true);
  });

  it('takes forecasts for a group reserved to one DSO from that DSO only', async () => {
    const peers = (await api('GET', '/oscp/peers')).body.peers as { id: string }[];
    const owner = peers[0]!.id;
    assert.equal((await api('PUT', '/topology', { nodes: [], oscpGroups: [{ groupId: 'grp-e2e', nodeId: 'ga-e2e', peerId: owner }] })).status, 200);
    const other = await api('POST', '/oscp/peers', { name: 'Other DSO', role: 'capacity_provider' });
    const intruder = new SimDso(`${g.url}/oscp/fp/2.0`);
    await intruder.start();
    try {
      assert.equal(await intruder.register(String(other.body.registrationToken)), 204);
      await waitUntil('the second DSO to be registered', () => intruder.isRegistered());
      const before = (await api('GET', '/grid-areas/ga-e2e/forecast')).body;
      const start = alignToInterval(Date.now());
      assert.equal(await intruder.postForecast('grp-e2e', [{ start: new Date(start), end: new Date(start + Q), kw: 999 }]), 403);
      assert.deepEqual((await api('GET', '/grid-areas/ga-e2e/forecast')).body, before);
      assert.equal(await dso.postForecast('grp-e2e', [{ start: new Date(start), end: new Date(start + Q), kw: 12 }]), 204);
      for (const m of intruder.log) if (m.response !== undefined) assertOscpValid('error', m.response, `error reply to ${m.path}`);
    } finally {
      await intruder.stop();
    }
  });

  it('speaks the official OSCP 2.0 schemas on the wire', () => {
    assert.ok(dso.log.filter((m) => m.direction === 'in').length >= 2, 'gridflex called the DSO');
    for (const m of dso.log) {
      assertOscpValid(schemaOfEndpoint(m.path.replace(/^\//, '')), m.body, `${m.direction} ${m.path}`);
      if (m.response !== undefined) assertOscpValid('error', m.response, `error reply to ${m.path}`);
    }
  });

  it('answers problem+json for bad admin calls', async () => {
    const res = await fetch(`${g.url}/api/v1/grid-areas`, { headers: { Authorization: 'Bearer wrong' } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    const bad = await fetch(`${g.url}/api/v1/topology`, { method: 'PUT', headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' }, body: '{"nodes": [' });
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type') ?? '', /application\/problem\+json/);
  });
});
