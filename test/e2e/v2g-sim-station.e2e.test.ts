/**
 * The demo's OCPP 2.1 V2X station end to end: the whole service (startGridflex), the demo's SimStation as
 * a strict 2.1 client over a real socket, and the demo's price publisher on gridflex's own OpenADR VTN.
 * Flat prices: the V2X EV only charges. A two-tariff price: its TxProfile becomes CentralSetpoint with a
 * negative setpoint in the peak, the station follows it (negative power), a Dynamic-control EV gets
 * UpdateDynamicSchedule, and a 2.0.1 EV beside it is never asked to discharge.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { alignToInterval } from '../../optimizer/model.ts';
import { loadConfig } from '../../services/config.ts';
import { publishTwoTariffPrices } from '../../services/demo/demo-prices.ts';
import { SimStation } from '../../services/demo/sim-station.ts';
import { startGridflex, type Gridflex } from '../../services/main.ts';
import { freshPgDb, pgAvailable, type TestDb } from '../helpers/db.ts';
import { waitUntil } from '../helpers/wait.ts';

const ADMIN = 'e2e-admin-token-' + randomBytes(8).toString('hex');
const AREA = 'ga-v2g-demo';

type Obj = Record<string, unknown>;
interface Period21 {
  startPeriod: number;
  limit?: number;
  setpoint?: number;
  dischargeLimit?: number;
  operationMode?: string;
}

function txProfiles(s: SimStation, evseId: number, sinceMs = 0): Obj[] {
  return s.received
    .filter((r) => r.at >= sinceMs && r.payload.evseId === evseId)
    .map((r) => r.payload.chargingProfile as Obj)
    .filter((p) => p.chargingProfilePurpose === 'TxProfile');
}

function periodsOf(profile: Obj): Period21[] {
  return (profile.chargingSchedule as { chargingSchedulePeriod: Period21[] }[])[0]!.chargingSchedulePeriod;
}

describe('e2e: a 2.1 V2X SimStation discharges when OpenADR prices make it pay', function () {
  this.timeout(120_000);
  let g: Gridflex;
  let pg: TestDb | undefined;
  let dataDir: string | undefined;
  let v2x: SimStation;
  let v201: SimStation;
  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${g.url}/api/v1${p}`, { method, headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : {} };
  };

  before(async () => {
    const env: Record<string, string> = {
      PORT: '0', HOST: '127.0.0.1', GRIDFLEX_ADMIN_TOKEN: ADMIN, LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
      REALLOCATE_DEBOUNCE_MS: '30', OUTBOX_POLL_MS: '100', MQTT_TOPIC_PREFIX: `gridflex-v2g-${randomBytes(4).toString('hex')}`, MQTT_EMBEDDED_PORT: '0',
    };
    if (await pgAvailable()) {
      pg = await freshPgDb();
      env.DATABASE_URL = pg.url!;
    } else {
      dataDir = await mkdtemp(path.join(tmpdir(), 'gridflex-v2g-'));
      env.GRIDFLEX_DATA_DIR = dataDir;
    }
    g = await startGridflex(loadConfig(env));
    const evses = (station: string) => [1, 2].map((e) => ({ id: `${station}-${e}`, kind: 'evse', parentId: station, maxPowerKw: 11, ocppEvseId: e }));
    const topo = await api('PUT', '/topology', {
      nodes: [
        { id: AREA, kind: 'grid_area', parentId: null, importLimitKw: 100 },
        { id: 'V2G-21', kind: 'station', parentId: AREA, voltageV: 230, phases: 3 },
        ...evses('V2G-21'),
        { id: 'V2G-201', kind: 'station', parentId: AREA, voltageV: 230, phases: 3 },
        ...evses('V2G-201'),
      ],
    });
    assert.equal(topo.status, 200, JSON.stringify(topo.body));
    const url = `${g.url.replace(/^http/, 'ws')}/ocpp`;
    for (const id of ['V2G-21', 'V2G-201']) assert.equal((await api('POST', `/stations/${id}/password`, { password: `pw-${id}-0123456789abcdef` })).status, 201);
    v2x = new SimStation({ url, stationId: 'V2G-21', password: 'pw-V2G-21-0123456789abcdef', version: '2.1', evseCount: 2, evMaxKw: 11 });
    v201 = new SimStation({ url, stationId: 'V2G-201', password: 'pw-V2G-201-0123456789abcdef', version: '2.0.1', evseCount: 2, evMaxKw: 11 });
    await v2x.connect();
    await v201.connect();
  });

  after(async () => {
    await v2x?.close();
    await v201?.close();
    await g?.stop();
    await pg?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const departure = () => new Date(Date.now() + 5 * 3_600_000);
  const v2xNeeds = (controlMode: 'ScheduledControl' | 'DynamicControl') => ({ energyKwh: 10, departure: departure(), v2x: { maxDischargeKw: 10, aboveMinKwh: 20, toMaxKwh: 30, controlMode } });

  it('without a price signal a V2X EV gets a CentralSetpoint TxProfile that never discharges', async () => {
    await v2x.startCharging(1, v2xNeeds('ScheduledControl'));
    await v201.startCharging(1, { energyKwh: 10, departure: departure() });
    await waitUntil('a TxProfile for the V2X EV', () => txProfiles(v2x, 1).length > 0);
    await g.orchestrator.idle();
    await g.dispatcher.runOnce();
    const profile = txProfiles(v2x, 1).at(-1)!;
    const periods = periodsOf(profile);
    assert.ok(periods.every((p) => p.operationMode === 'CentralSetpoint'), JSON.stringify(periods));
    assert.ok(periods.every((p) => p.setpoint! >= 0), `no discharge without a price spread: ${JSON.stringify(periods)}`);
    assert.ok(v2x.powerKw(1) >= 0);
  });

  it('after a two-tariff PRICE event on the VTN it discharges at peak, follows the setpoint and reports export', async () => {
    const since = Date.now();
    const prices = await publishTwoTariffPrices(g.url, ADMIN, AREA, { peakPrice: 0.42, peakHours: 1, offPeakPrice: 0.12, offPeakHours: 3, currency: 'EUR' });
    assert.equal(prices.startMs, alignToInterval(since));
    await waitUntil('a TxProfile with a negative setpoint', () => txProfiles(v2x, 1, since).some((p) => periodsOf(p).some((x) => (x.setpoint ?? 0) < 0)), 30_000);
    await g.orchestrator.idle();
    await g.dispatcher.runOnce();
    const profile = txProfiles(v2x, 1, since).at(-1)!;
    assert.equal(profile.chargingProfileKind, 'Absolute');
    const startMs = Date.parse(String((profile.chargingSchedule as Obj[])[0]!.startSchedule));
    // the tariff loops: 1 h peak, 3 h off-peak
    const inPeak = (at: number) => (at - prices.startMs) % (4 * 3_600_000) < 3_600_000;
    const periods = periodsOf(profile);
    // discharge only in peak hours (W, import +, export −), within the dischargeLimit; charging off-peak
    for (const p of periods) {
      const at = startMs + p.startPeriod * 1000;
      if ((p.setpoint ?? 0) < 0) {
        assert.ok(inPeak(at), `discharge at ${new Date(at).toISOString()}, off-peak`);
        assert.ok(p.dischargeLimit !== undefined && p.dischargeLimit <= p.setpoint!, JSON.stringify(p));
        assert.ok(p.setpoint! >= -10_000, 'within the EV’s max discharge power');
      }
    }
    assert.ok(periods.some((p) => !inPeak(startMs + p.startPeriod * 1000) && (p.setpoint ?? 0) > 0), 'charges back off-peak');
    // the station follows: negative power now, exported energy in its meter values
    const now = periods.find((p) => (p.setpoint ?? 0) < 0 && startMs + p.startPeriod * 1000 <= Date.now());
    assert.ok(now, 'the current period discharges');
    assert.equal(v2x.powerKw(1), now.setpoint! / 1000);
    await v2x.sendMeterValues();
    // gridflex stores the net power (import − export, negative) and finds it within the setpoint
    const [m] = await g.db.query<{ value: number }>(`SELECT value FROM measurement WHERE node_id = 'V2G-21-1' AND measurand = 'Power.Active.Import' ORDER BY time DESC LIMIT 1`);
    assert.equal(Number(m?.value), now.setpoint! / 1000);
    const [check] = await g.db.query<{ ok: boolean; detail: { measuredKw: number; setpointKw: number } }>(
      `SELECT ok, detail FROM ocpp_compliance WHERE station_id = 'V2G-21' AND kind = 'meter' AND ocpp_evse_id = 1 ORDER BY at DESC, id DESC LIMIT 1`,
    );
    assert.equal(check?.ok, true, JSON.stringify(check?.detail));
    assert.ok(check.detail.measuredKw < 0);
    // the 2.0.1 EV beside it is never asked to discharge
    const p201 = (v201.received.filter((r) => r.payload.evseId === 1).map((r) => r.payload.chargingProfile as Obj).filter((p) => p.chargingProfilePurpose === 'TxProfile').at(-1))!;
    assert.ok(p201, 'the 2.0.1 EV has a TxProfile');
    for (const s of p201.chargingSchedule as { chargingSchedulePeriod: Period21[] }[]) for (const p of s.chargingSchedulePeriod) {
      assert.equal(p.setpoint, undefined);
      assert.ok(p.limit! >= 0);
    }
  });

  it('a Dynamic-control V2X EV gets a Dynamic profile and UpdateDynamicSchedule with a negative setpoint, all acknowledged', async () => {
    await v2x.startCharging(2, v2xNeeds('DynamicControl'));
    await waitUntil('a Dynamic TxProfile for EVSE 2', () => txProfiles(v2x, 2).some((p) => p.chargingProfileKind === 'Dynamic'), 30_000);
    const dyn = txProfiles(v2x, 2).find((p) => p.chargingProfileKind === 'Dynamic')!;
    // a re-plan (new needs of the other EV) updates the Dynamic profile in place
    await v2x.client.call('NotifyEVChargingNeeds', {
      evseId: 1,
      chargingNeeds: { requestedEnergyTransfer: 'AC_BPT', controlMode: 'ScheduledControl', departureTime: departure().toISOString(), v2xChargingParameters: { maxChargePower: 11_000, maxDischargePower: 10_000, evTargetEnergyRequest: 9_000, evMinV2XEnergyRequest: -18_000, evMaxEnergyRequest: 30_000 } },
    });
    await waitUntil('an UpdateDynamicSchedule', () => v2x.dynamicUpdates.some((u) => u.payload.chargingProfileId === dyn.id), 30_000);
    const upd = v2x.dynamicUpdates.filter((u) => u.payload.chargingProfileId === dyn.id).at(-1)!;
    assert.equal(upd.status, 'Accepted');
    const values = upd.payload.scheduleUpdate as { setpoint?: number; dischargeLimit?: number };
    assert.ok((values.setpoint ?? 0) < 0, `peak-hour setpoint ${values.setpoint}`);
    assert.ok(v2x.powerKw(2) < 0);
    await g.dispatcher.runOnce();
    const out = await api('GET', '/outbox?target=V2G-21');
    assert.equal(out.status, 200);
    const rows = (out.body as { messages: { action: string; state: string }[] }).messages;
    const profiles = rows.filter((r) => r.action === 'SetChargingProfile' || r.action === 'UpdateDynamicSchedule');
    assert.ok(profiles.some((r) => r.action === 'UpdateDynamicSchedule'));
    assert.deepEqual(profiles.filter((r) => !['acked', 'superseded'].includes(r.state)), [], 'every profile delivered and acknowledged');
  });
});
