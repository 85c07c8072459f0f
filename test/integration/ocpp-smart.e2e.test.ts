/**
 * OCPP smart charging end to end, with independent strict ocpp-rpc clients per version (1.6, 2.0.1,
 * 2.1): subprotocol 2.1, capabilities read at boot, the failsafe TxDefaultProfile, the closed loop
 * (GetCompositeSchedule read-back, re-send, flag) and meter values against setpoints.
 */
import assert from 'node:assert/strict';
import type { RPCClient } from 'ocpp-rpc';
import { buildSaScheduleProfile } from '../../grid-adapters/iso15118/sa-schedules.ts';
import { buildStationProfiles } from '../../grid-adapters/ocpp/profiles.ts';
import { areaCapabilities } from '../../services/ocpp/plan-options.ts';
import { complianceSummary, getStationFlag, stationCapabilities } from '../../services/ocpp/smart-store.ts';
import { getStationState } from '../../services/ocpp/station-store.ts';
import { claimDue, enqueue, type OutboxRow } from '../../services/store/outbox-store.ts';
import { forEachDriver } from '../helpers/db.ts';
import { aBootNotification201, aMeterValue201, aTransactionEvent201 } from '../helpers/ocpp-builders.ts';
import type { TestCsms } from '../helpers/ocpp-csms.ts';
import { assertValidOcpp } from '../helpers/ocpp-schemas.ts';
import { callErrorCode, connectStation, eventually, probeUpgrade } from '../helpers/ocpp-station.ts';
import { areaTopology, startOcppRig, type Obj, type OcppRig, type StationHandlers } from '../builders/ocpp-rig.ts';

const AREA = 'ga-smart';
const S21 = 'SMART-21';
const S201 = 'SMART-201';
const S16 = 'SMART-16';
const PW = 'smart-charging-password-1';

function schedOf(payload: Obj): { id: number; chargingRateUnit: string; chargingSchedulePeriod: { startPeriod: number; limit: number; numberPhases?: number }[] } {
  return (payload.chargingProfile as { chargingSchedule: ReturnType<typeof schedOf>[] }).chargingSchedule[0]!;
}

forEachDriver('OCPP smart charging end to end', (get) => {
  let rig: OcppRig;
  let t: TestCsms;
  let clients: RPCClient[];
  const horizon = () => ({ startMs: Math.floor(Date.now() / 900_000) * 900_000, intervalMinutes: 15, count: 8 });

  before(async () => {
    // A call timeout that survives a busy machine (capability reads at boot must not time out).
    rig = await startOcppRig(get(), {
      nodes: areaTopology(AREA, [S21, S201, S16]),
      password: PW,
      env: { OCPP_COMPLIANCE_MAX_RESENDS: '1', OCPP_FAILSAFE_KW: '3.7', OCPP_CALL_TIMEOUT_MS: '1500' },
    });
    ({ t, clients } = rig);
  });

  after(async () => {
    await rig?.close();
  });

  const connect = (identity: string, version: '1.6' | '2.0.1' | '2.1', handlers: StationHandlers = {}): Promise<RPCClient> => rig.connect(identity, version, { handlers });

  async function pendingFor(target: string): Promise<{ action: string; payload: Obj }[]> {
    return get().query<{ action: string; payload: Obj }>(`SELECT action, payload FROM outbox WHERE target = $1 AND state = 'pending' ORDER BY id`, [target]);
  }

  /** Enqueue + claim exactly this row (what the dispatcher would hand the channel). */
  async function claimOne(target: string, payload: object): Promise<OutboxRow> {
    await get().query(`DELETE FROM outbox WHERE target = $1 AND state IN ('pending','in_flight')`, [target]);
    await enqueue(get(), { channel: 'ocpp', target, action: 'SetChargingProfile', payload, dedupeKey: `test/${Math.random()}` });
    const [row] = await claimDue(get(), { channel: 'ocpp', target, limit: 1, staleMs: 60_000 });
    assert.ok(row);
    return row;
  }

  describe('OCPP 2.1', () => {
    it('is chosen when offered (first preference), validated strictly, and boots, reads capabilities, queues the failsafe', async () => {
      const both = await probeUpgrade(`${t.endpoint}/${S21}`, { protocols: ['ocpp2.0.1', 'ocpp2.1'], user: S21, password: PW });
      assert.equal(both.protocol, 'ocpp2.1');
      const getVariables: Obj[] = [];
      const c = await connect(S21, '2.1', {
        GetVariables: (p) => {
          getVariables.push(p);
          const data = p.getVariableData as { component: { name: string }; variable: { name: string; instance?: string } }[];
          const values: Record<string, string> = { PeriodsPerSchedule: '24', RateUnit: 'W', ProfileStackLevel: '4', Entries: '10', Available: 'true' };
          return { getVariableResult: data.map((d) => ({ attributeStatus: 'Accepted', attributeValue: values[d.variable.name] ?? '', component: d.component, variable: d.variable })) };
        },
      });
      assert.equal(c.protocol, 'ocpp2.1');
      const before = t.stationConnected.length;
      const boot = (await c.call('BootNotification', aBootNotification201())) as { status: string };
      assert.equal(boot.status, 'Accepted');
      await eventually(async () => (await pendingFor(S21)).length > 0, 10_000);
      await eventually(() => t.stationConnected.slice(before).filter((e) => e.stationId === S21).length >= 1);
      assert.equal(getVariables.length, 1);
      assert.equal((await getStationState(get(), S21))?.ocppVersion, '2.1');
      assert.deepEqual(await stationCapabilities(get(), S21), { maxPeriods: 24, rateUnits: ['W'], maxStackLevel: 4, maxProfiles: 10, smartCharging: true });
      const [failsafe] = await pendingFor(S21);
      assert.equal(failsafe?.action, 'SetChargingProfile');
      assertValidOcpp('2.1', 'SetChargingProfile', 'req', failsafe!.payload);
      assert.deepEqual(failsafe!.payload, {
        evseId: 0,
        chargingProfile: {
          id: 2,
          stackLevel: 0,
          chargingProfilePurpose: 'TxDefaultProfile',
          chargingProfileKind: 'Relative',
          chargingSchedule: [{ id: 2, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 3700, numberPhases: 3 }] }],
        },
      });
    });

    it('handles transactions and answers schema-invalid 2.1 calls with 2.x error codes', async () => {
      const c = clients[0]!;
      const started = await c.call('TransactionEvent', aTransactionEvent201('Started', { transactionInfo: { transactionId: 'tx-21' }, idToken: { idToken: 'T', type: 'ISO14443' } }));
      assert.deepEqual(started, { idTokenInfo: { status: 'Accepted' } });
      const rows = await get().query<{ n: number }>(`SELECT count(*)::int AS n FROM charging_session WHERE station_id = $1 AND transaction_id = 'tx-21'`, [S21]);
      assert.equal(Number(rows[0]!.n), 1);
      // 2.1 charging needs with a 2.1-only transfer mode (bidirectional AC): stored like 2.0.1's.
      const needs = await c.call('NotifyEVChargingNeeds', {
        evseId: 1,
        chargingNeeds: {
          requestedEnergyTransfer: 'AC_BPT',
          departureTime: new Date(Date.now() + 3 * 3_600_000).toISOString(),
          acChargingParameters: { energyAmount: 20_000, evMinCurrent: 6, evMaxCurrent: 16, evMaxVoltage: 400 },
        },
      });
      assert.deepEqual(needs, { status: 'Accepted' });
      const s21 = await get().query<{ energy_needed_kwh: number }>(`SELECT energy_needed_kwh FROM charging_session WHERE station_id = $1 AND transaction_id = 'tx-21'`, [S21]);
      assert.equal(Number(s21[0]!.energy_needed_kwh), 20);
      const raw = await connectStation({ endpoint: t.endpoint, identity: S21, password: PW, version: '2.1', strict: false });
      clients.push(raw);
      assert.equal(await callErrorCode(raw.call('Heartbeat', { unexpected: 1 })), 'PropertyConstraintViolation');
      assert.equal(await callErrorCode(raw.call('BootNotification', { reason: 'PowerUp' })), 'OccurrenceConstraintViolation');
      assert.equal(await callErrorCode(raw.call('MadeUpAction', {})), 'NotImplemented');
      await raw.close({ force: true });
    });

    it('delivers a 2.1 TxProfile with maxOfflineDuration; the station validates it strictly', async () => {
      const received: Obj[] = [];
      const c = await connect(S21, '2.1', {
        SetChargingProfile: (p) => {
          received.push(p);
          return { status: 'Accepted' };
        },
      });
      await eventually(() => t.csms.isConnected(S21));
      const [, tx] = buildStationProfiles({
        version: '2.1', stationId: S21, horizon: horizon(), nowMs: Date.now(), stationCapKw: Array(8).fill(22), maxOfflineDurationS: 900,
        evses: [{ evseNodeId: `${S21}-1`, ocppEvseId: 1, transactionId: 'tx-21', kw: Array(8).fill(11) }],
      });
      const res = await t.csms.channel(await claimOne(S21, tx!.payload));
      assert.equal(res.outcome, 'acked');
      assert.equal((received[0]!.chargingProfile as Obj).maxOfflineDuration, 900);
      await c.close({ force: true });
    });
  });

  describe('capabilities and failsafe for 1.6 and 2.0.1', () => {
    it('1.6: GetConfiguration keys are stored and the failsafe uses the unit the charge point allows', async () => {
      const c = await connect(S16, '1.6', {
        GetConfiguration: (p) => {
          assert.deepEqual(p.key, ['ChargingScheduleMaxPeriods', 'ChargingScheduleAllowedChargingRateUnit', 'ChargeProfileMaxStackLevel', 'MaxChargingProfilesInstalled']);
          return {
            configurationKey: [
              { key: 'ChargingScheduleMaxPeriods', readonly: true, value: '10' },
              { key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true, value: 'Current' },
              { key: 'ChargeProfileMaxStackLevel', readonly: true, value: '2' },
            ],
            unknownKey: ['MaxChargingProfilesInstalled'],
          };
        },
      });
      await c.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
      await eventually(async () => (await pendingFor(S16)).length > 0, 10_000);
      assert.deepEqual(await stationCapabilities(get(), S16), { maxPeriods: 10, rateUnits: ['A'], maxStackLevel: 2 });
      // What the dispatch plan reads for the whole area (one query).
      const area = await areaCapabilities(get(), AREA);
      assert.deepEqual(area.get(S16), { maxPeriods: 10, rateUnits: ['A'] });
      assert.deepEqual(area.get(S21), { maxPeriods: 24, rateUnits: ['W'] });
      const [failsafe] = await pendingFor(S16);
      assertValidOcpp('1.6', 'SetChargingProfile', 'req', failsafe!.payload);
      const sched = (failsafe!.payload.csChargingProfiles as { chargingSchedule: { chargingRateUnit: string; chargingSchedulePeriod: { limit: number }[] } }).chargingSchedule;
      assert.equal(sched.chargingRateUnit, 'A');
      assert.equal(sched.chargingSchedulePeriod[0]!.limit, 5.3); // 3.7 kW / (230 V · 3), rounded down
    });

    it('2.0.1: a station that does not implement GetVariables still boots, gets the W failsafe and is re-planned', async () => {
      const c = await connect(S201, '2.0.1');
      const before = t.stationConnected.length;
      assert.equal(((await c.call('BootNotification', aBootNotification201())) as { status: string }).status, 'Accepted');
      await eventually(async () => (await pendingFor(S201)).length > 0, 10_000);
      await eventually(() => t.stationConnected.slice(before).some((e) => e.stationId === S201));
      assert.deepEqual(await stationCapabilities(get(), S201), {});
      const [failsafe] = await pendingFor(S201);
      assertValidOcpp('2.0.1', 'SetChargingProfile', 'req', failsafe!.payload);
      assert.deepEqual(schedOf(failsafe!.payload), { id: 2, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 3700, numberPhases: 3 }] });
    });

    it('the failsafe is lowered to the station’s last known cap share', async () => {
      const [run] = await get().query<{ id: number }>(
        `INSERT INTO allocation_run (grid_area_id, trigger, horizon_start, interval_min, interval_count, status, inputs_digest, verified)
         VALUES ($1, 'test', now(), 15, 1, 'optimal', 'x', true) RETURNING id`,
        [AREA],
      );
      const at = new Date(Date.now() - 60_000);
      for (const e of [`${S201}-1`, `${S201}-2`]) {
        await get().query(`INSERT INTO setpoint (run_id, evse_id, start_at, kw, cap_kw) VALUES ($1, $2, $3, 1, 2)`, [run!.id, e, at]);
      }
      const c = clients[clients.length - 1]!;
      await get().query(`DELETE FROM outbox WHERE target = $1`, [S201]);
      await c.call('BootNotification', aBootNotification201());
      await eventually(async () => (await pendingFor(S201)).length > 0, 10_000);
      assert.equal(schedOf((await pendingFor(S201))[0]!.payload).chargingSchedulePeriod[0]!.limit, 2000); // (2 + 2) kW / 2 EVSEs
    });
  });

  describe('closed loop', () => {
    let composite: (p: Obj) => Obj;
    let setCalls = 0;
    let c: RPCClient;

    before(async () => {
      await get().query(`DELETE FROM ocpp_station_flag`);
      for (const x of clients.splice(0)) await x.close({ force: true }).catch(() => undefined);
      c = await connect(S201, '2.0.1', {
        SetChargingProfile: () => {
          setCalls++;
          return { status: 'Accepted' };
        },
        GetCompositeSchedule: (p) => composite(p),
      });
      await eventually(() => t.csms.isConnected(S201));
    });

    function maxProfile(kw: number) {
      return buildStationProfiles({ version: '2.0.1', stationId: S201, horizon: horizon(), nowMs: Date.now(), stationCapKw: Array(8).fill(kw), evses: [] })[0]!.payload;
    }
    const answer = (p: Obj, limitW: number) => ({
      status: 'Accepted',
      schedule: { evseId: p.evseId, duration: p.duration, scheduleStart: new Date().toISOString(), chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: limitW }] },
    });

    it('reads back the composite schedule after an ack and records compliance', async () => {
      const asked: Obj[] = [];
      composite = (p) => {
        asked.push(p);
        return answer(p, 10_000);
      };
      setCalls = 0;
      assert.equal((await t.csms.channel(await claimOne(S201, maxProfile(22)))).outcome, 'acked');
      await eventually(async () => (await complianceSummary(get(), { stationId: S201 }, 0)).checks === 1, 10_000);
      assert.equal(asked[0]!.evseId, 0);
      assert.equal(asked[0]!.chargingRateUnit, 'W');
      assert.ok((asked[0]!.duration as number) > 0 && (asked[0]!.duration as number) <= 3600);
      assert.deepEqual(await complianceSummary(get(), { gridAreaId: AREA }, 0), { checks: 1, deviations: 0, maxExcessKw: 0 });
      assert.equal(setCalls, 1);
    });

    it('a station whose composite schedule exceeds the profile is re-sent it, then flagged', async () => {
      composite = (p) => answer(p, 30_000); // 30 kW where 22 kW was sent
      setCalls = 0;
      assert.equal((await t.csms.channel(await claimOne(S201, maxProfile(22)))).outcome, 'acked');
      await eventually(async () => (await getStationFlag(get(), S201))?.noncompliant === true, 10_000);
      assert.equal(setCalls, 2, 'sent once, re-sent once (OCPP_COMPLIANCE_MAX_RESENDS = 1)');
      const flag = await getStationFlag(get(), S201);
      assert.match(flag!.reason!, /exceeds the ChargingStationMaxProfile on evse 0 by 8 kW/);
      const s = await complianceSummary(get(), { stationId: S201 }, 0);
      assert.deepEqual(s, { checks: 3, deviations: 2, maxExcessKw: 8 });
      const metrics = await t.metrics.registry.getSingleMetricAsString('gridflex_ocpp_stations_flagged_total');
      assert.match(metrics, new RegExp(`grid_area="${AREA}"} 1`));
    });

    it('a station that rejects GetCompositeSchedule or never answers it is not flagged, and nothing crashes', async () => {
      await get().query(`DELETE FROM ocpp_station_flag`);
      composite = () => ({ status: 'Rejected' });
      assert.equal((await t.csms.channel(await claimOne(S201, maxProfile(22)))).outcome, 'acked');
      composite = () => new Promise<Obj>(() => undefined) as unknown as Obj;
      assert.equal((await t.csms.channel(await claimOne(S201, maxProfile(22)))).outcome, 'acked');
      await new Promise((r) => setTimeout(r, 1700)); // > OCPP_CALL_TIMEOUT_MS (1500 ms)
      assert.equal(await getStationFlag(get(), S201), undefined);
      assert.equal(c.state, 1);
    });

    it('meter values are compared with the setpoint in force', async () => {
      const [run] = await get().query<{ id: number }>(
        `INSERT INTO allocation_run (grid_area_id, trigger, horizon_start, interval_min, interval_count, status, inputs_digest, verified)
         VALUES ($1, 'test', now(), 15, 1, 'optimal', 'x', true) RETURNING id`,
        [AREA],
      );
      const start = new Date(Math.floor(Date.now() / 900_000) * 900_000);
      await get().query(`INSERT INTO setpoint (run_id, evse_id, start_at, kw, cap_kw) VALUES ($1, $2, $3, 7, 11)`, [run!.id, `${S201}-2`, start]);
      await c.call('TransactionEvent', aTransactionEvent201('Started', { transactionInfo: { transactionId: 'tx-meter' }, evse: { id: 2, connectorId: 1 } }));
      const now = new Date();
      await c.call('TransactionEvent', aTransactionEvent201('Updated', { seqNo: 1, transactionInfo: { transactionId: 'tx-meter' }, evse: { id: 2, connectorId: 1 }, meterValue: [aMeterValue201(now, 7_200, 1_000)] }));
      await c.call('TransactionEvent', aTransactionEvent201('Updated', { seqNo: 2, transactionInfo: { transactionId: 'tx-meter' }, evse: { id: 2, connectorId: 1 }, meterValue: [aMeterValue201(new Date(now.getTime() + 1000), 9_000, 1_010)] }));
      const rows = await get().query<{ ok: boolean; excess_kw: number }>(`SELECT ok, excess_kw FROM ocpp_compliance WHERE station_id = $1 AND kind = 'meter' ORDER BY at`, [S201]);
      assert.deepEqual(rows.map((r) => [r.ok, Number(r.excess_kw)]), [[true, 0.2], [false, 2]]);
    });

    it('NotifyEVChargingSchedule (ISO 15118, K17): Accepted within the TxProfile, Rejected above it with a re-plan', async () => {
      const payload = buildSaScheduleProfile({ version: '2.0.1', ocppEvseId: 2, transactionId: 'tx-meter', horizon: horizon(), kw: Array(8).fill(7) });
      await get().query(`INSERT INTO outbox (channel, target, action, payload, dedupe_key, state) VALUES ('ocpp', $1, 'SetChargingProfile', $2, $3, 'acked')`, [S201, JSON.stringify(payload), `ocpp/${S201}/tx/2`]);
      const schedule = (limit: number) => ({ evseId: 2, timeBase: new Date().toISOString(), chargingSchedule: { id: 1, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit }] } });
      assert.deepEqual(await c.call('NotifyEVChargingSchedule', schedule(7000)), { status: 'Accepted' });
      const before = t.areaChanged.length;
      const r = (await c.call('NotifyEVChargingSchedule', schedule(11_000))) as { status: string; statusInfo?: { reasonCode: string } };
      assert.equal(r.status, 'Rejected');
      assert.equal(r.statusInfo?.reasonCode, 'ExceedsLimits');
      assert.deepEqual(t.areaChanged.slice(before), [{ gridAreaId: AREA, reason: 'ocpp:ev-schedule-rejected' }]);
      // No TxProfile acknowledged on EVSE 1: nothing to hold the EV to but the station maximum.
      assert.deepEqual(await c.call('NotifyEVChargingSchedule', { ...schedule(50_000), evseId: 1 }), { status: 'Accepted' });
    });

    it('1.6: the read-back uses connectorId and the 1.6 composite schedule shape', async () => {
      const asked: Obj[] = [];
      let sets = 0;
      const c16 = await connect(S16, '1.6', {
        SetChargingProfile: () => {
          sets++;
          return { status: 'Accepted' };
        },
        GetCompositeSchedule: (p) => {
          asked.push(p);
          return {
            status: 'Accepted',
            connectorId: p.connectorId,
            scheduleStart: new Date().toISOString(),
            chargingSchedule: { duration: p.duration, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 12_000 }] },
          };
        },
      });
      await eventually(() => t.csms.isConnected(S16));
      const [max] = buildStationProfiles({ version: '1.6', stationId: S16, horizon: horizon(), nowMs: Date.now(), stationCapKw: Array(8).fill(11), evses: [] });
      assert.equal((await t.csms.channel(await claimOne(S16, max!.payload))).outcome, 'acked');
      await eventually(async () => (await getStationFlag(get(), S16))?.noncompliant === true, 10_000);
      assert.equal(asked[0]!.connectorId, 0);
      assert.equal(sets, 2);
      const rows = await get().query<{ ok: boolean; excess_kw: number }>(`SELECT ok, excess_kw FROM ocpp_compliance WHERE station_id = $1 AND kind = 'composite'`, [S16]);
      assert.deepEqual(rows.map((r) => [r.ok, Number(r.excess_kw)]), [[false, 1], [false, 1]]);
      await c16.close({ force: true });
    });
  });
});
