import assert from 'node:assert/strict';
import type { RPCClient } from 'ocpp-rpc';
import { buildStationProfiles } from '../../grid-adapters/ocpp/profiles.ts';
import type { OutboxRow } from '../../services/store/outbox-store.ts';
import { claimDue, enqueue } from '../../services/store/outbox-store.ts';
import { listMeasurements } from '../../services/ocpp/measurement-store.ts';
import { activeTransactionsByEvse, findSession, loadActiveDemands } from '../../services/ocpp/session-store.ts';
import { setStationPassword, verifyStationPassword } from '../../services/ocpp/station-credentials.ts';
import { getStationState } from '../../services/ocpp/station-store.ts';
import { upsertNodes } from '../../services/store/topology-store.ts';
import { forEachDriver } from '../helpers/db.ts';
import {
  AREA,
  CS16,
  CS201,
  PASSWORD_16,
  PASSWORD_201,
  aBootNotification201,
  aMeterValue16,
  aMeterValue201,
  aTransactionEvent201,
  ocppTopology,
} from '../helpers/ocpp-builders.ts';
import { faultyDb, startTestCsms, type TestCsms } from '../helpers/ocpp-csms.ts';
import { callErrorCode, connectStation, eventually, probeUpgrade, stationClient } from '../helpers/ocpp-station.ts';

const H = 3_600_000;
const DEFAULTS = { energyKwh: 30, hours: 8 };

forEachDriver('OCPP CSMS end to end', (get) => {
  let t: TestCsms;
  let cs201: RPCClient;
  let cs16: RPCClient;
  const t0 = Date.now() - 10 * 60_000; // sessions started ten minutes ago
  const at = (minutes: number) => new Date(t0 + minutes * 60_000);

  before(async () => {
    const db = get();
    await db.tx((q) => upsertNodes(q, ocppTopology()));
    await setStationPassword(db, CS201, PASSWORD_201);
    await setStationPassword(db, CS16, PASSWORD_16);
    t = await startTestCsms(db);
  });

  after(async () => {
    await cs201?.close({ force: true }).catch(() => undefined);
    await cs16?.close({ force: true }).catch(() => undefined);
    await t?.close();
  });

  describe('upgrade and authentication', () => {
    it('stores only a scrypt hash and verifies it', async () => {
      const rows = await get().query<{ password_hash: string }>('SELECT password_hash FROM station_credential WHERE station_id = $1', [CS201]);
      assert.match(rows[0]!.password_hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
      assert.equal(await verifyStationPassword(get(), CS201, PASSWORD_201), true);
      assert.equal(await verifyStationPassword(get(), CS201, PASSWORD_16), false);
      await assert.rejects(setStationPassword(get(), CS201, 'short'), /at least 16/);
      await assert.rejects(setStationPassword(get(), `${CS201}-1`, 'a-long-enough-password'), /not a station/);
    });

    it('refuses a wrong password and missing credentials with 401', async () => {
      const url = `${t.endpoint}/${encodeURIComponent(CS201)}`;
      assert.equal((await probeUpgrade(url, { user: CS201, password: PASSWORD_16 })).status, 401);
      assert.equal((await probeUpgrade(url)).status, 401);
      // Basic username must be the station id (another station's valid credentials do not count).
      assert.equal((await probeUpgrade(url, { user: CS16, password: PASSWORD_16 })).status, 401);
      await assert.rejects(connectStation({ endpoint: t.endpoint, identity: CS201, password: 'wrong-password-123456', version: '2.0.1' }));
    });

    it('refuses an unknown station and foreign paths with 404, undecodable ids with 400', async () => {
      assert.equal((await probeUpgrade(`${t.endpoint}/NOPE`, { user: 'NOPE', password: PASSWORD_201 })).status, 404);
      // A topology node that is not a station is not a station.
      assert.equal((await probeUpgrade(`${t.endpoint}/${AREA}`, { user: AREA, password: PASSWORD_201 })).status, 404);
      assert.equal((await probeUpgrade(`${t.endpoint}/a/${CS16}`, { user: CS16, password: PASSWORD_16 })).status, 404);
      assert.equal((await probeUpgrade(`${t.endpoint}/`)).status, 404);
      assert.equal((await probeUpgrade(`${t.endpoint}/%E0%A4%A`)).status, 400);
    });

    it('completes the handshake without a subprotocol and closes when none is common (OCPP-J §3.2)', async () => {
      const r = await probeUpgrade(`${t.endpoint}/${CS16}`, { protocols: ['ocpp1.5'], user: CS16, password: PASSWORD_16 });
      assert.equal(r.status, 101);
      assert.equal(r.protocol, undefined);
      assert.equal(r.closeCode, 1002);
      assert.equal(t.csms.isConnected(CS16), false);
    });
  });

  describe('OCPP 2.0.1 station', () => {
    it('connects with Basic auth, boots and is tracked', async () => {
      cs201 = await connectStation({ endpoint: t.endpoint, identity: CS201, password: PASSWORD_201, version: '2.0.1' });
      assert.equal(cs201.protocol, 'ocpp2.0.1');
      await eventually(() => t.stationConnected.some((e) => e.stationId === CS201 && e.gridAreaId === AREA));
      const boot = (await cs201.call('BootNotification', aBootNotification201())) as { status: string; interval: number; currentTime: string };
      assert.equal(boot.status, 'Accepted');
      assert.equal(boot.interval, 60);
      assert.ok(Math.abs(Date.parse(boot.currentTime) - Date.now()) < 5_000);
      const state = await getStationState(get(), CS201);
      assert.equal(state?.ocppVersion, '2.0.1');
      assert.equal(state?.vendor, 'TestVendor');
      assert.equal(state?.model, 'TestModel');
      assert.equal(state?.firmware, '1.2.3');
      assert.equal(state?.connected, true);
      assert.ok(state?.lastBootMs);
      assert.equal(t.csms.isConnected(CS201), true);
      assert.deepEqual(t.csms.connectedStations().map((c) => [c.stationId, c.version]), [[CS201, '2.0.1']]);
      assert.deepEqual(await cs201.call('Heartbeat', {}).then((r) => Object.keys(r as object)), ['currentTime']);
    });

    it('stores connector status per EVSE', async () => {
      await cs201.call('StatusNotification', { timestamp: at(0).toISOString(), connectorStatus: 'Occupied', evseId: 1, connectorId: 1 });
      await cs201.call('StatusNotification', { timestamp: at(0).toISOString(), connectorStatus: 'Available', evseId: 2, connectorId: 1 });
      const state = await getStationState(get(), CS201);
      assert.equal(state?.statusByEvse['1']?.status, 'Occupied');
      assert.equal(state?.statusByEvse['2']?.status, 'Available');
      assert.deepEqual(await cs201.call('Authorize', { idToken: { idToken: 'ABC', type: 'ISO14443' } }), { idTokenInfo: { status: 'Accepted' } });
    });

    it('TransactionEvent Started creates the session before answering and signals the area', async () => {
      const before = t.areaChanged.length;
      const res = await cs201.call('TransactionEvent', aTransactionEvent201('Started', { timestamp: at(0).toISOString(), idToken: { idToken: 'ABC', type: 'ISO14443' } }));
      assert.deepEqual(res, { idTokenInfo: { status: 'Accepted' } });
      const s = await findSession(get(), CS201, 'tx-201-a');
      assert.equal(s?.evseId, `${CS201}-1`);
      assert.equal(s?.startedMs, at(0).getTime());
      assert.equal(s?.stoppedMs, null);
      assert.equal(s?.idToken, 'ABC');
      assert.deepEqual(t.areaChanged.slice(before), [{ gridAreaId: AREA, reason: 'ocpp:transaction-started' }]);
      // A repeated Started (lost answer) keeps one session.
      await cs201.call('TransactionEvent', aTransactionEvent201('Started', { timestamp: at(0).toISOString() }));
      const n = await get().query<{ n: number }>('SELECT count(*)::int AS n FROM charging_session WHERE station_id = $1', [CS201]);
      assert.equal(Number(n[0]!.n), 1);
    });

    it('NotifyEVChargingNeeds stores departure, energy and power of the session on that EVSE', async () => {
      const before = t.areaChanged.length;
      const departure = new Date(t0 + 4 * H);
      const res = await cs201.call('NotifyEVChargingNeeds', {
        evseId: 1,
        chargingNeeds: {
          requestedEnergyTransfer: 'AC_three_phase',
          departureTime: departure.toISOString(),
          acChargingParameters: { energyAmount: 24_000, evMinCurrent: 6, evMaxCurrent: 16, evMaxVoltage: 400 },
        },
      });
      assert.deepEqual(res, { status: 'Accepted' });
      const s = await findSession(get(), CS201, 'tx-201-a');
      assert.equal(s?.departureMs, departure.getTime());
      assert.equal(s?.energyNeededKwh, 24);
      assert.ok(Math.abs(s!.maxPowerKw! - (16 * 230 * 3) / 1000) < 1e-9);
      assert.ok(Math.abs(s!.minPowerKw! - (6 * 230 * 3) / 1000) < 1e-9);
      assert.deepEqual(t.areaChanged.slice(before), [{ gridAreaId: AREA, reason: 'ocpp:charging-needs' }]);
      // No transaction on EVSE 2: nothing to attach the needs to.
      const rejected = (await cs201.call('NotifyEVChargingNeeds', { evseId: 2, chargingNeeds: { requestedEnergyTransfer: 'DC', dcChargingParameters: { evMaxCurrent: 100, evMaxVoltage: 400 } } })) as { status: string };
      assert.equal(rejected.status, 'Rejected');
    });

    it('meter values become measurement rows (kW) and delivered energy', async () => {
      await cs201.call('TransactionEvent', aTransactionEvent201('Updated', { seqNo: 1, timestamp: at(1).toISOString(), meterValue: [aMeterValue201(at(1), 7_400, 10_000)] }));
      await cs201.call('TransactionEvent', aTransactionEvent201('Updated', { seqNo: 2, timestamp: at(5).toISOString(), meterValue: [aMeterValue201(at(5), 11_000, 10_500)] }));
      const rows = await listMeasurements(get(), `${CS201}-1`, 'Power.Active.Import');
      assert.deepEqual(rows.map((r) => [r.timeMs, r.value, r.unit]), [[at(1).getTime(), 7.4, 'kW'], [at(5).getTime(), 11, 'kW']]);
      const s = await findSession(get(), CS201, 'tx-201-a');
      assert.equal(rows[0]?.sessionId, s?.id);
      assert.equal(s?.meterStartWh, 10_000);
      assert.equal(s?.energyDeliveredKwh, 0.5);
      // Station-level MeterValues on an EVSE without a session still land on the EVSE node.
      await cs201.call('MeterValues', { evseId: 2, meterValue: [aMeterValue201(at(6), 500, 0)] });
      assert.equal((await listMeasurements(get(), `${CS201}-2`, 'Power.Active.Import'))[0]?.value, 0.5);
    });

    it('loadActiveDemands returns the running session as a demand', async () => {
      const nowMs = Date.now();
      const demands = await loadActiveDemands(get(), AREA, nowMs, DEFAULTS);
      assert.equal(demands.length, 1);
      const d = demands[0]!;
      assert.equal(d.evseId, `${CS201}-1`);
      assert.equal(d.stationId, CS201);
      assert.equal(d.transactionId, 'tx-201-a');
      assert.equal(d.arrivalMs, at(0).getTime());
      assert.equal(d.departureMs, t0 + 4 * H);
      assert.ok(Math.abs(d.energyKwh - 23.5) < 1e-9, `energy ${d.energyKwh}`);
      assert.ok(Math.abs(d.maxPowerKw! - 11.04) < 1e-9);
      assert.deepEqual([...(await activeTransactionsByEvse(get(), CS201)).entries()], [[`${CS201}-1`, 'tx-201-a']]);
      assert.deepEqual(await loadActiveDemands(get(), 'other-area', nowMs, DEFAULTS), []);
    });

    it('TransactionEvent Ended closes the session and signals the area', async () => {
      const before = t.areaChanged.length;
      await cs201.call('TransactionEvent', aTransactionEvent201('Ended', { seqNo: 3, timestamp: at(8).toISOString(), transactionInfo: { transactionId: 'tx-201-a', stoppedReason: 'EVDisconnected' }, meterValue: [aMeterValue201(at(8), 0, 11_000)] }));
      const s = await findSession(get(), CS201, 'tx-201-a');
      assert.equal(s?.stoppedMs, at(8).getTime());
      assert.equal(s?.stopReason, 'EVDisconnected');
      assert.equal(s?.energyDeliveredKwh, 1);
      assert.deepEqual(t.areaChanged.slice(before), [{ gridAreaId: AREA, reason: 'ocpp:transaction-ended' }]);
      assert.deepEqual(await loadActiveDemands(get(), AREA, Date.now(), DEFAULTS), []);
    });

    it('answers a TransactionEvent on an EVSE missing from the topology without storing it', async () => {
      const res = await cs201.call('TransactionEvent', aTransactionEvent201('Started', { transactionInfo: { transactionId: 'tx-ghost' }, evse: { id: 9 } }));
      assert.deepEqual(res, {});
      assert.equal(await findSession(get(), CS201, 'tx-ghost'), undefined);
    });
  });

  describe('OCPP 1.6 charge point', () => {
    let txId = 0;

    it('boots, starts a transaction with an id we assign, and stores the session', async () => {
      cs16 = await connectStation({ endpoint: t.endpoint, identity: CS16, password: PASSWORD_16, version: '1.6' });
      assert.equal(cs16.protocol, 'ocpp1.6');
      const boot = (await cs16.call('BootNotification', { chargePointVendor: 'V16', chargePointModel: 'M16' })) as { status: string; interval: number };
      assert.deepEqual([boot.status, boot.interval], ['Accepted', 60]);
      await cs16.call('StatusNotification', { connectorId: 2, errorCode: 'NoError', status: 'Preparing' });
      assert.equal((await getStationState(get(), CS16))?.statusByEvse['2']?.status, 'Preparing');
      assert.deepEqual(await cs16.call('Authorize', { idTag: 'TAG1' }), { idTagInfo: { status: 'Accepted' } });

      const before = t.areaChanged.length;
      const start = { connectorId: 2, idTag: 'TAG1', meterStart: 1_000, timestamp: at(0).toISOString() };
      const res = (await cs16.call('StartTransaction', start)) as { transactionId: number; idTagInfo: { status: string } };
      assert.equal(res.idTagInfo.status, 'Accepted');
      assert.ok(Number.isInteger(res.transactionId) && res.transactionId > 0);
      txId = res.transactionId;
      const s = await findSession(get(), CS16, String(txId));
      assert.equal(s?.evseId, `${CS16}-2`);
      assert.equal(s?.meterStartWh, 1_000);
      assert.deepEqual(t.areaChanged.slice(before), [{ gridAreaId: AREA, reason: 'ocpp:transaction-started' }]);
      // The same StartTransaction again (answer lost) gets the same id back.
      assert.equal(((await cs16.call('StartTransaction', start)) as { transactionId: number }).transactionId, txId);
      assert.deepEqual([...(await activeTransactionsByEvse(get(), CS16)).entries()], [[`${CS16}-2`, String(txId)]]);
    });

    it('MeterValues with the transactionId feed measurements and energy; the demand uses the defaults', async () => {
      await cs16.call('MeterValues', { connectorId: 2, transactionId: txId, meterValue: [aMeterValue16(at(2), 3_680, 3_000)] });
      const rows = await listMeasurements(get(), `${CS16}-2`, 'Power.Active.Import');
      assert.deepEqual(rows.map((r) => [r.timeMs, r.value]), [[at(2).getTime(), 3.68]]);
      const s = await findSession(get(), CS16, String(txId));
      assert.equal(s?.energyDeliveredKwh, 2);
      const [d] = await loadActiveDemands(get(), AREA, Date.now(), DEFAULTS);
      assert.equal(d?.evseId, `${CS16}-2`);
      assert.equal(d?.transactionId, String(txId));
      assert.equal(d?.departureMs, at(0).getTime() + 8 * H);
      assert.equal(d?.energyKwh, 28);
      assert.equal(d?.maxPowerKw, undefined);
      // A plugged-in EV past its default stay still gets an hour.
      const late = at(0).getTime() + 9 * H;
      assert.equal((await loadActiveDemands(get(), AREA, late, DEFAULTS))[0]?.departureMs, late + H);
    });

    it('StopTransaction closes the session with the final meter reading', async () => {
      const before = t.areaChanged.length;
      const res = await cs16.call('StopTransaction', { transactionId: txId, meterStop: 6_500, timestamp: at(9).toISOString(), reason: 'EVDisconnected', idTag: 'TAG1' });
      assert.deepEqual(res, { idTagInfo: { status: 'Accepted' } });
      const s = await findSession(get(), CS16, String(txId));
      assert.equal(s?.stoppedMs, at(9).getTime());
      assert.equal(s?.stopReason, 'EVDisconnected');
      assert.equal(s?.energyDeliveredKwh, 5.5);
      assert.deepEqual(t.areaChanged.slice(before), [{ gridAreaId: AREA, reason: 'ocpp:transaction-ended' }]);
      // Unknown transaction: still answered.
      assert.deepEqual(await cs16.call('StopTransaction', { transactionId: 999_999, meterStop: 1, timestamp: at(9).toISOString() }), {});
    });

    it('a new transaction on a connector closes one whose StopTransaction was lost', async () => {
      const first = (await cs16.call('StartTransaction', { connectorId: 1, idTag: 'A', meterStart: 0, timestamp: at(10).toISOString() })) as { transactionId: number };
      const second = (await cs16.call('StartTransaction', { connectorId: 1, idTag: 'B', meterStart: 0, timestamp: at(11).toISOString() })) as { transactionId: number };
      assert.notEqual(first.transactionId, second.transactionId);
      const lost = await findSession(get(), CS16, String(first.transactionId));
      assert.deepEqual([lost?.stoppedMs, lost?.stopReason], [at(11).getTime(), 'SupersededOnEvse']);
      assert.deepEqual([...(await activeTransactionsByEvse(get(), CS16)).entries()], [[`${CS16}-1`, String(second.transactionId)]]);
      await cs16.call('StopTransaction', { transactionId: second.transactionId, meterStop: 0, timestamp: at(12).toISOString() });
    });
  });

  describe('delivering SetChargingProfile through the outbox channel', () => {
    const horizon = { startMs: Math.floor(Date.now() / 900_000) * 900_000, intervalMinutes: 15, count: 8 };

    async function claimOne(target: string, payload: object, action = 'SetChargingProfile'): Promise<OutboxRow> {
      // Only this test's row: drop what the boot queued (the failsafe TxDefaultProfile, tested in ocpp-smart.e2e).
      await get().query(`DELETE FROM outbox WHERE target = $1 AND state IN ('pending','in_flight')`, [target]);
      await enqueue(get(), { channel: 'ocpp', target, action, payload, dedupeKey: `test/${target}/${Math.random()}` });
      const [row] = await claimDue(get(), { channel: 'ocpp', target, limit: 1, staleMs: 60_000 });
      assert.ok(row);
      return row;
    }

    function profiles201() {
      return buildStationProfiles({
        version: '2.0.1',
        stationId: CS201,
        horizon,
        nowMs: Date.now(),
        voltageV: 230,
        phases: 3,
        stationCapKw: [22, 22, 16.5, 16.5, 11.04, 11.04, 44, 44],
        evses: [
          { evseNodeId: `${CS201}-1`, ocppEvseId: 1, transactionId: 'tx-201-b', kw: [11, 11, 7.4, 7.4, 3.68, 3.68, 22, 22] },
          { evseNodeId: `${CS201}-2`, ocppEvseId: 2, transactionId: null, kw: Array(8).fill(0) },
        ],
      });
    }

    it('acked when the station answers Accepted (payload arrives intact and schema-valid)', async () => {
      const received: unknown[] = [];
      cs201.handle('SetChargingProfile', async ({ params }) => {
        received.push(params);
        return { status: 'Accepted' };
      });
      const [max, tx] = profiles201();
      assert.equal(max?.slot, `${CS201}/max`);
      assert.equal(tx?.slot, `${CS201}/tx/1`);
      const res = await t.csms.channel(await claimOne(CS201, max!.payload));
      assert.deepEqual(res, { outcome: 'acked', response: { status: 'Accepted' } });
      assert.equal((await t.csms.channel(await claimOne(CS201, tx!.payload))).outcome, 'acked');
      assert.deepEqual(received, [max!.payload, tx!.payload]);
    });

    it('rejected when the station answers Rejected', async () => {
      cs201.handle('SetChargingProfile', async () => ({ status: 'Rejected', statusInfo: { reasonCode: 'TxNotFound' } }));
      const res = await t.csms.channel(await claimOne(CS201, profiles201()[1]!.payload));
      assert.equal(res.outcome, 'rejected');
      assert.deepEqual('response' in res ? res.response : undefined, { status: 'Rejected', statusInfo: { reasonCode: 'TxNotFound' } });
    });

    it('retry when the station never answers within OCPP_CALL_TIMEOUT_MS', async () => {
      cs201.handle('SetChargingProfile', () => new Promise<Record<string, unknown>>(() => undefined));
      const started = Date.now();
      const res = await t.csms.channel(await claimOne(CS201, profiles201()[0]!.payload));
      assert.equal(res.outcome, 'retry');
      assert.ok(Date.now() - started >= 250, 'waited for the call timeout');
    });

    it('rejected without sending when the payload does not fit the station’s version', async () => {
      const p16 = buildStationProfiles({ version: '1.6', stationId: CS201, horizon, nowMs: Date.now(), stationCapKw: Array(8).fill(10), evses: [] });
      const res = await t.csms.channel(await claimOne(CS201, p16[0]!.payload));
      assert.equal(res.outcome, 'rejected');
    });

    it('unavailable when the station is not connected', async () => {
      await cs16.close();
      await eventually(() => !t.csms.isConnected(CS16));
      await eventually(async () => (await getStationState(get(), CS16))?.connected === false);
      const p16 = buildStationProfiles({ version: '1.6', stationId: CS16, horizon, nowMs: Date.now(), stationCapKw: Array(8).fill(10), evses: [] });
      assert.equal((await t.csms.channel(await claimOne(CS16, p16[0]!.payload))).outcome, 'unavailable');
    });

    it('a reconnecting station replaces its previous connection', async () => {
      const second = stationClient({ endpoint: t.endpoint, identity: CS201, password: PASSWORD_201, version: '2.0.1' });
      await second.connect();
      await eventually(() => cs201.state !== 1);
      second.handle('SetChargingProfile', async () => ({ status: 'Accepted' }));
      assert.equal((await t.csms.channel(await claimOne(CS201, profiles201()[0]!.payload))).outcome, 'acked');
      assert.equal(t.csms.connectedStations().filter((c) => c.stationId === CS201).length, 1);
      assert.equal((await getStationState(get(), CS201))?.connected, true);
      cs201 = second;
    });
  });

  describe('bad input', () => {
    it('answers schema-invalid 2.0.1 CALLs with the OCPP-J 2.0.1 error codes and keeps the connection', async () => {
      const raw = await connectStation({ endpoint: t.endpoint, identity: CS201, password: PASSWORD_201, version: '2.0.1', strict: false });
      try {
        assert.equal(await callErrorCode(raw.call('Heartbeat', { extra: 1 })), 'PropertyConstraintViolation');
        assert.equal(await callErrorCode(raw.call('StatusNotification', { timestamp: at(0).toISOString(), connectorStatus: 'Available', evseId: 1 })), 'OccurrenceConstraintViolation');
        assert.equal(await callErrorCode(raw.call('StatusNotification', { timestamp: at(0).toISOString(), connectorStatus: 'Available', evseId: '1', connectorId: 1 })), 'TypeConstraintViolation');
        assert.equal(await callErrorCode(raw.call('Authorize', { idToken: { idToken: 'x'.repeat(37), type: 'ISO14443' } })), 'FormatViolation');
        assert.equal(await callErrorCode(raw.call('NoSuchAction', {})), 'NotImplemented');
        assert.equal(await callErrorCode(raw.call('NotifyDisplayMessages', { requestId: 1 })), 'NotSupported');
        assert.deepEqual(await raw.call('DataTransfer', { vendorId: 'x' }), { status: 'UnknownVendorId' });
        assert.ok(await raw.call('Heartbeat', {}), 'connection still usable');
      } finally {
        await raw.close({ force: true });
      }
    });

    it('answers schema-invalid 1.6 CALLs with the OCPP-J 1.6 spellings', async () => {
      const raw = await connectStation({ endpoint: t.endpoint, identity: CS16, password: PASSWORD_16, version: '1.6', strict: false });
      try {
        assert.equal(await callErrorCode(raw.call('StartTransaction', { connectorId: 1, idTag: 'T', timestamp: at(0).toISOString() })), 'OccurenceConstraintViolation');
        assert.equal(await callErrorCode(raw.call('BootNotification', { chargePointVendor: 'x'.repeat(21), chargePointModel: 'M' })), 'FormationViolation');
        assert.equal(await callErrorCode(raw.call('MeterValues', { connectorId: 'one', meterValue: [] })), 'TypeConstraintViolation');
        assert.ok(await raw.call('Heartbeat', {}), 'connection still usable');
      } finally {
        await raw.close({ force: true });
      }
    });

    it('answers InternalError when the database fails, and carries on', async () => {
      const db = faultyDb(get());
      const own = await startTestCsms(db);
      const c = await connectStation({ endpoint: own.endpoint, identity: CS16, password: PASSWORD_16, version: '1.6' });
      try {
        db.failing = true;
        assert.equal(await callErrorCode(c.call('Heartbeat', {})), 'InternalError');
        assert.equal(await callErrorCode(c.call('StartTransaction', { connectorId: 1, idTag: 'T', meterStart: 0, timestamp: at(0).toISOString() })), 'InternalError');
        db.failing = false;
        assert.ok(await c.call('Heartbeat', {}));
      } finally {
        await c.close({ force: true });
        await own.close();
      }
    });
  });
});
