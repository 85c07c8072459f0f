import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { alignToInterval } from '../../optimizer/model.ts';
import { loadConfig } from '../../services/config.ts';
import { SimStation } from '../../services/demo/sim-station.ts';
import { startGridflex, type Gridflex } from '../../services/main.ts';
import { createOpenadrClient } from '../../services/openadr/index.ts';
import { freshPgDb, freshPgliteDb, pgAvailable, type TestDb } from '../helpers/db.ts';
import { call, fetchToken, startVtn, type VtnUnderTest } from '../helpers/openadr-http.ts';
import { waitUntil } from '../helpers/wait.ts';

const Q = 15 * 60_000;
const ADMIN = 'e2e-admin-token-' + randomBytes(8).toString('hex');

/** kW limit of a ChargingStationMaxProfile (W schedule) at `atMs`; undefined outside it. */
function limitAt(payload: Record<string, unknown>, atMs: number): number | undefined {
  const prof = payload.chargingProfile as { chargingSchedule: Record<string, unknown>[] };
  const sched = prof.chargingSchedule[0]!;
  const elapsed = (atMs - Date.parse(String(sched.startSchedule))) / 1000;
  const duration = typeof sched.duration === 'number' ? sched.duration : Infinity;
  if (elapsed < 0 || elapsed >= duration) return undefined;
  let cur: number | undefined;
  for (const p of sched.chargingSchedulePeriod as { startPeriod: number; limit: number }[]) if (p.startPeriod <= elapsed) cur = p.limit;
  if (cur === undefined) return undefined;
  return sched.chargingRateUnit === 'A' ? (cur * 230 * 3) / 1000 : cur / 1000;
}
const maxProfiles = (s: SimStation, sinceMs: number) =>
  s.received.filter((r) => r.at >= sinceMs && (r.payload.chargingProfile as { chargingProfilePurpose?: string } | undefined)?.chargingProfilePurpose === 'ChargingStationMaxProfile');

/**
 * Issue 7: a gridflex VEN talks to a gridflex VTN (the "utility", its own database) over real HTTP,
 * and the capacity event it receives changes the OCPP profiles of a simulated station on gridflex.
 */
describe('e2e: utility VTN → gridflex VEN (HTTP) → optimizer → OCPP profiles', function () {
  this.timeout(120_000);
  let utilityDb: TestDb;
  let utility: VtnUnderTest;
  let g: Gridflex;
  let pg: TestDb | undefined;
  let dataDir: string | undefined;
  let station: SimStation;
  let bl = '';
  let programId = '';
  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${g.url}/api/v1${p}`, { method, headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return res.status;
  };

  before(async () => {
    // The utility: a gridflex VTN on its own database, with a BL and a VEN client for gridflex.
    utilityDb = await freshPgliteDb();
    utility = await startVtn(utilityDb.db);
    const b = await createOpenadrClient(utilityDb.db, { name: 'utility BL', role: 'bl' });
    const v = await createOpenadrClient(utilityDb.db, { name: 'gridflex', role: 'ven' });
    bl = String((await fetchToken(utility, b.clientId, b.clientSecret)).body.access_token);
    assert.equal((await call(utility, 'POST', '/vens', { token: bl, body: { objectType: 'BL_VEN_REQUEST', clientID: v.clientId, venName: 'gridflex-e2e', targets: ['feeder-7'] } })).status, 201);
    programId = (await call<{ id: string }>(utility, 'POST', '/programs', { token: bl, body: { programName: 'Feeder 7 capacity', targets: ['feeder-7'] } })).body.id;

    const env: Record<string, string> = {
      PORT: '0', HOST: '127.0.0.1', GRIDFLEX_ADMIN_TOKEN: ADMIN, LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
      REALLOCATE_DEBOUNCE_MS: '30', OUTBOX_POLL_MS: '100', MQTT_TOPIC_PREFIX: `gridflex-ven-e2e-${randomBytes(4).toString('hex')}`, MQTT_EMBEDDED_PORT: '0',
      OPENADR_VEN_VTN_URL: utility.base, OPENADR_VEN_CLIENT_ID: v.clientId, OPENADR_VEN_CLIENT_SECRET: v.clientSecret,
      OPENADR_VEN_NAME: 'gridflex-e2e', OPENADR_VEN_NODE_ID: 'site-v', OPENADR_VEN_TARGETS: 'feeder-7', OPENADR_VEN_POLL_S: '5',
    };
    if (await pgAvailable()) {
      pg = await freshPgDb();
      env.DATABASE_URL = pg.url!;
    } else {
      dataDir = await mkdtemp(path.join(tmpdir(), 'gridflex-ven-e2e-'));
      env.GRIDFLEX_DATA_DIR = dataDir;
    }
    g = await startGridflex(loadConfig(env));
  });

  after(async () => {
    await station?.close();
    await g?.stop();
    await utility?.close();
    await utilityDb?.drop();
    await pg?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('charges at full power before any event', async () => {
    assert.equal(
      await api('PUT', '/topology', {
        nodes: [
          { id: 'ga-v', kind: 'grid_area', parentId: null, importLimitKw: 200 },
          { id: 'site-v', kind: 'site', parentId: 'ga-v', importLimitKw: 100 },
          { id: 'CS-V1', kind: 'station', parentId: 'site-v' },
          { id: 'CS-V1-1', kind: 'evse', parentId: 'CS-V1', maxPowerKw: 22, ocppEvseId: 1 },
          { id: 'CS-V1-2', kind: 'evse', parentId: 'CS-V1', maxPowerKw: 22, ocppEvseId: 2 },
        ],
      }),
      200,
    );
    assert.equal(await api('POST', '/stations/CS-V1/password', { password: 'pw-CS-V1-0123456789abcdef' }), 201);
    station = new SimStation({ url: `${g.url.replace(/^http/, 'ws')}/ocpp`, stationId: 'CS-V1', password: 'pw-CS-V1-0123456789abcdef', version: '2.0.1', evseCount: 2, evMaxKw: 22 });
    await station.connect();
    await station.startCharging(1);
    await station.startCharging(2);
    await waitUntil('a station-wide profile', () => maxProfiles(station, 0).length > 0, 20_000);
    await g.orchestrator.idle();
    const first = maxProfiles(station, 0).at(-1)!.payload;
    assert.ok((limitAt(first, Date.now()) ?? 0) > 20, 'both EVs may charge well above the coming event limit');
  });

  it('lowers the station profile when the utility publishes a 6 kW event for the site', async () => {
    const since = Date.now();
    const start = alignToInterval(since);
    const ev = await call<{ id: string }>(utility, 'POST', '/events', {
      token: bl,
      body: {
        programID: programId, targets: ['feeder-7'],
        payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'IMPORT_CAPACITY_LIMIT', units: 'KW' }],
        intervalPeriod: { start: new Date(start).toISOString(), duration: 'PT1H' },
        intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [6] }] }],
      },
    });
    assert.equal(ev.status, 201);
    // gridflex polls the utility every 5 s (no callback URL in this setup).
    await waitUntil('a station-wide profile within the 6 kW event', () => {
      const p = maxProfiles(station, since).at(-1)?.payload;
      return p !== undefined && (limitAt(p, start + Q / 2) ?? Infinity) <= 6 + 1e-6;
    }, 30_000);
    const p = maxProfiles(station, since).at(-1)!.payload;
    for (let i = 0; i < 4; i++) assert.ok(limitAt(p, start + i * Q + Q / 2)! <= 6 + 1e-6, `interval ${i} under the event`);
    assert.ok((limitAt(p, start + 5 * Q + Q / 2) ?? Infinity) > 6, 'full power again after the event');
    const resources = await call<{ resourceName: string }[]>(utility, 'GET', '/resources', { token: bl });
    assert.deepEqual(resources.body.map((r) => r.resourceName), ['site-v'], 'gridflex registered its resource at the utility over HTTP');
  });
});
