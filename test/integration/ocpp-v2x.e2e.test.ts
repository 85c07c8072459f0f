/**
 * OCPP 2.1 V2X, Dynamic profiles, priority charging and the ISO 15118 salesTariff, end to end: independent
 * strict ocpp-rpc clients as 2.1 / 2.0.1 stations over real sockets, the real database, and the real
 * dispatch plan (planDispatch) fed a hand-made allocation where the test needs a discharge, so the path
 * from allocation to the station's SetChargingProfile / UpdateDynamicSchedule is the production one.
 * The strict clients validate every CALL they receive against the official schemas: a schema-invalid
 * profile would come back as a CALLERROR and fail the delivery assertions.
 */
import assert from 'node:assert/strict';
import type { RPCClient } from 'ocpp-rpc';
import type { Allocation, EvseSchedule } from '../../optimizer/model.ts';
import { planDispatch } from '../../services/core/dispatch-plan.ts';
import { createLogger } from '../../services/log.ts';
import { loadActiveDemands } from '../../services/ocpp/session-store.ts';
import { setStationPassword } from '../../services/ocpp/station-credentials.ts';
import { claimDue, recordAttempt } from '../../services/store/outbox-store.ts';
import { listAreaNodes, upsertNodes, type NodeInput } from '../../services/store/topology-store.ts';
import { forEachDriver } from '../helpers/db.ts';
import { aBootNotification201, aTransactionEvent201 } from '../helpers/ocpp-builders.ts';
import { startTestCsms, type TestCsms } from '../helpers/ocpp-csms.ts';
import { assertValidOcpp } from '../helpers/ocpp-schemas.ts';
import { callErrorCode, connectStation, eventually } from '../helpers/ocpp-station.ts';

const AREA = 'ga-v2x';
const S21 = 'V2X-21';
const S201 = 'V2X-201';
const PW = 'v2x-station-password-01';

type Obj = Record<string, unknown>;

function topology(): NodeInput[] {
  const station = (id: string): NodeInput[] => [
    { id, kind: 'station', parentId: AREA, voltageV: 230, phases: 3 },
    { id: `${id}-1`, kind: 'evse', parentId: id, maxPowerKw: 22, ocppEvseId: 1 },
    { id: `${id}-2`, kind: 'evse', parentId: id, maxPowerKw: 22, ocppEvseId: 2 },
  ];
  return [{ id: AREA, kind: 'grid_area', parentId: null, importLimitKw: 100 }, ...station(S21), ...station(S201)];
}

const V2X_PARAMS = { maxChargePower: 11_000, minChargePower: 1_400, maxDischargePower: 10_000, evTargetEnergyRequest: 20_000, evMinV2XEnergyRequest: -15_000, evMaxEnergyRequest: 30_000 };

forEachDriver('OCPP 2.1 V2X, dynamic profiles, priority charging, salesTariff', (get) => {
  let t: TestCsms;
  const clients: RPCClient[] = [];
  const log = createLogger('silent');
  let runId = 1;
  /** What each station received, per action, in order. */
  const received: Record<string, { action: string; params: Obj }[]> = { [S21]: [], [S201]: [] };
  const horizon = () => ({ startMs: Math.floor(Date.now() / 900_000) * 900_000, intervalMinutes: 15, count: 8 });

  before(async () => {
    const db = get();
    await db.tx((q) => upsertNodes(q, topology()));
    for (const s of [S21, S201]) await setStationPassword(db, s, PW);
    t = await startTestCsms(db, { OCPP_CALL_TIMEOUT_MS: '2000', OCPP_COMPOSITE_READBACK: 'false', OCPP_READ_CAPABILITIES: 'false' });
    for (const [id, version] of [[S21, '2.1'], [S201, '2.0.1']] as const) {
      const c = await connectStation({ endpoint: t.endpoint, identity: id, password: PW, version });
      clients.push(c);
      for (const action of ['SetChargingProfile', 'UpdateDynamicSchedule', 'UsePriorityCharging']) {
        c.handle(action, async ({ params }) => {
          received[id]!.push({ action, params: params as Obj });
          return { status: 'Accepted' };
        });
      }
      await c.call('BootNotification', aBootNotification201());
      await c.call('TransactionEvent', aTransactionEvent201('Started', { transactionInfo: { transactionId: `tx-${id}` }, evse: { id: 1, connectorId: 1 } }));
    }
    await eventually(() => t.csms.isConnected(S21) && t.csms.isConnected(S201));
  });

  after(async () => {
    for (const c of clients) await c.close({ force: true }).catch(() => undefined);
    await t?.close();
  });

  /** What the outbox dispatcher does for one station: every due OCPP message, in id order, through the CSMS channel. */
  async function deliver(target: string): Promise<{ action: string; outcome: string }[]> {
    const out: { action: string; outcome: string }[] = [];
    for (;;) {
      const rows = await claimDue(get(), { channel: 'ocpp', target, limit: 50, staleMs: 60_000 });
      if (rows.length === 0) return out;
      for (const row of rows) {
        const r = await t.csms.channel(row);
        const state = r.outcome === 'acked' ? 'acked' : r.outcome === 'rejected' ? 'rejected' : 'failed';
        await recordAttempt(get(), row.id, { state, ...('response' in r ? { response: r.response } : {}), countAttempt: true });
        out.push({ action: row.action, outcome: r.outcome });
      }
    }
  }

  /** Clears what earlier steps left queued (e.g. the boot failsafe), so a step sees only its own messages. */
  async function drain(): Promise<void> {
    await deliver(S21);
    await deliver(S201);
    received[S21] = [];
    received[S201] = [];
  }

  async function dispatch(evses: EvseSchedule[], prices?: (number | null)[]): Promise<void> {
    const h = horizon();
    const active = await loadActiveDemands(get(), AREA, Date.now(), { energyKwh: 30, hours: 8 });
    const allocation: Allocation = { status: 'optimal', horizon: h, evses, nodeTotalsKw: {}, nodeLimitsKw: {}, unmet: [], binding: [], objective: 0, solveMs: 0 };
    await get().tx((q) =>
      listAreaNodes(q, AREA).then((nodes) =>
        planDispatch(q, {
          runId: runId++, gridAreaId: AREA, allocation, nodes, nowMs: Date.now(), config: t.config, log,
          txByEvse: new Map(active.map((d) => [d.evseId, d.transactionId])), ...(prices ? { prices } : {}),
        }),
      ),
    );
  }

  const demandOf = async (evseId: string) => (await loadActiveDemands(get(), AREA, Date.now(), { energyKwh: 30, hours: 8 })).find((d) => d.evseId === evseId);
  const sched = (evseId: string, kw: number[], exportCapKw?: number[]): EvseSchedule => ({
    evseId, sessionId: `ocpp:${evseId.replace(/-\d$/, '')}:tx-${evseId.replace(/-\d$/, '')}`, kw, capKw: kw.map((v) => Math.max(0, v)), ...(exportCapKw ? { exportCapKw } : {}),
  });
  const profileOf = (p: Obj) => p.chargingProfile as { chargingProfileKind: string; chargingProfilePurpose: string; id: number; chargingSchedule: { chargingSchedulePeriod: Obj[]; salesTariff?: Obj }[] };

  it('2.1 needs with V2X parameters become the session demand with v2g (kW, kWh ≥ 0 in the session frame)', async () => {
    const needs = await clients[0]!.call('NotifyEVChargingNeeds', {
      evseId: 1,
      chargingNeeds: { requestedEnergyTransfer: 'DC_BPT', controlMode: 'ScheduledControl', mobilityNeedsMode: 'EVCC', departureTime: new Date(Date.now() + 4 * 3_600_000).toISOString(), v2xChargingParameters: V2X_PARAMS },
    });
    assert.deepEqual(needs, { status: 'Accepted' });
    const d = await demandOf(`${S21}-1`);
    assert.deepEqual(d?.v2g, { maxDischargeKw: 10, minSocKwh: 0, socKwh: 15, capacityKwh: 45 });
    assert.equal(d?.maxPowerKw, 11);
    assert.equal(d?.energyKwh, 20);
    assert.ok(t.areaChanged.some((e) => e.gridAreaId === AREA && e.reason === 'ocpp:charging-needs'));
    const [row] = await get().query<{ control_mode: string; mobility_needs_mode: string }>(`SELECT control_mode, mobility_needs_mode FROM charging_session WHERE station_id = $1`, [S21]);
    assert.deepEqual({ ...row }, { control_mode: 'ScheduledControl', mobility_needs_mode: 'EVCC' });
    // the same session behind a station now on 2.0.1 (it cannot be sent a discharge): no v2g demand
    await get().query(`UPDATE station_state SET ocpp_version = '2.0.1' WHERE station_id = $1`, [S21]);
    assert.equal((await demandOf(`${S21}-1`))?.v2g, undefined);
    await get().query(`UPDATE station_state SET ocpp_version = '2.1' WHERE station_id = $1`, [S21]);
  });

  it('schema-invalid V2X needs are answered with the 2.x CALLERROR and change nothing', async () => {
    const raw = await connectStation({ endpoint: t.endpoint, identity: S21, password: PW, version: '2.1', strict: false });
    try {
      const call = (chargingNeeds: Obj) => raw.call('NotifyEVChargingNeeds', { evseId: 1, chargingNeeds: { requestedEnergyTransfer: 'DC_BPT', ...chargingNeeds } });
      assert.equal(await callErrorCode(call({ controlMode: 'BestEffort' })), 'FormatViolation');
      assert.equal(await callErrorCode(call({ v2xChargingParameters: { ...V2X_PARAMS, evMaxDischargePower: 5 } })), 'PropertyConstraintViolation');
      assert.equal(await callErrorCode(call({ v2xChargingParameters: { ...V2X_PARAMS, maxDischargePower: '10 kW' } })), 'TypeConstraintViolation');
      assert.equal(await callErrorCode(call({ v2xChargingParameters: { ...V2X_PARAMS, targetSoC: 101 } })), 'FormatViolation');
    } finally {
      await raw.close({ force: true });
    }
    // the strict connection was replaced by the raw one: reconnect it for the next steps
    const c = await connectStation({ endpoint: t.endpoint, identity: S21, password: PW, version: '2.1' });
    for (const action of ['SetChargingProfile', 'UpdateDynamicSchedule', 'UsePriorityCharging']) {
      c.handle(action, async ({ params }) => {
        received[S21]!.push({ action, params: params as Obj });
        return { status: 'Accepted' };
      });
    }
    clients[0] = c;
    await eventually(() => t.csms.isConnected(S21));
    assert.deepEqual((await demandOf(`${S21}-1`))?.v2g, { maxDischargeKw: 10, minSocKwh: 0, socKwh: 15, capacityKwh: 45 });
  });

  it('a discharge plan reaches the 2.1 station as a CentralSetpoint TxProfile (setpoint, limit, dischargeLimit) and an export cap on the station maximum', async () => {
    await drain();
    await dispatch([
      sched(`${S21}-1`, [7, -5, -5, -10, 0, 0, 11, 11], [0, 10, 10, 10, 10, 0, 0, 0]),
      { evseId: `${S21}-2`, sessionId: null, kw: Array(8).fill(0), capKw: Array(8).fill(3) },
    ]);
    assert.deepEqual((await deliver(S21)).map((d) => d.outcome), ['acked', 'acked']);
    const [max, tx] = received[S21]!;
    assert.equal(profileOf(max!.params).chargingProfilePurpose, 'ChargingStationMaxProfile');
    assert.deepEqual(profileOf(max!.params).chargingSchedule[0]!.chargingSchedulePeriod.map((p) => [p.limit, p.dischargeLimit]), [
      // merged on equal import limits; each period's largest export cap; nothing after the horizon
      [10000, 0], [3000, -10000], [14000, 0], [3000, 0],
    ]);
    const txp = profileOf(tx!.params);
    assert.equal(txp.chargingProfileKind, 'Absolute');
    assertValidOcpp('2.1', 'SetChargingProfile', 'req', tx!.params);
    assert.deepEqual(txp.chargingSchedule[0]!.chargingSchedulePeriod.map((p) => [p.operationMode, p.setpoint, p.limit, p.dischargeLimit]), [
      ['CentralSetpoint', 7000, 7000, undefined],
      ['CentralSetpoint', -5000, 0, -10000],
      ['CentralSetpoint', -10000, 0, -10000],
      ['CentralSetpoint', 0, 0, -10000],
      ['CentralSetpoint', 0, 0, undefined],
      ['CentralSetpoint', 11000, 11000, undefined],
    ]);
  });

  it('2.0.1 stations never get a negative value: the discharge is sent as 0', async () => {
    await drain();
    await dispatch([sched(`${S201}-1`, [-5, -5, 4, 4, 4, 4, 4, 4], Array(8).fill(10))]);
    assert.deepEqual((await deliver(S201)).map((d) => d.outcome), ['acked', 'acked']);
    const tx = profileOf(received[S201]![1]!.params);
    assert.deepEqual(tx.chargingSchedule[0]!.chargingSchedulePeriod, [{ startPeriod: 0, limit: 0, numberPhases: 3 }, { startPeriod: 1800, limit: 4000, numberPhases: 3 }]);
    assert.ok(!JSON.stringify(received[S201]).includes('dischargeLimit'));
  });

  it('Dynamic control mode: a Dynamic TxProfile first, then UpdateDynamicSchedule when only the current values change; the whole profile again after a refused update', async () => {
    await clients[0]!.call('NotifyEVChargingNeeds', { evseId: 1, chargingNeeds: { requestedEnergyTransfer: 'DC_BPT', controlMode: 'DynamicControl', v2xChargingParameters: V2X_PARAMS } });
    await drain();
    await dispatch([sched(`${S21}-1`, [-6, -6, 0, 0, 0, 0, 0, 0], Array(8).fill(8))]);
    assert.deepEqual(await deliver(S21), [{ action: 'SetChargingProfile', outcome: 'acked' }, { action: 'SetChargingProfile', outcome: 'acked' }]);
    const dyn = profileOf(received[S21]![1]!.params);
    assert.equal(dyn.chargingProfileKind, 'Dynamic');
    assert.deepEqual(dyn.chargingSchedule[0]!.chargingSchedulePeriod, [{ startPeriod: 0, operationMode: 'CentralSetpoint', setpoint: -6000, limit: 0, dischargeLimit: -8000, numberPhases: 3 }]);

    // re-plan: the current interval changes → only the values go out, validated by the strict 2.1 station
    await dispatch([sched(`${S21}-1`, [4, 4, 4, 0, 0, 0, 0, 0], Array(8).fill(0))]);
    const second = await deliver(S21);
    assert.deepEqual(second.map((d) => d.action), ['SetChargingProfile', 'UpdateDynamicSchedule']);
    assert.ok(second.every((d) => d.outcome === 'acked'));
    const update = received[S21]!.find((r) => r.action === 'UpdateDynamicSchedule')!.params;
    assertValidOcpp('2.1', 'UpdateDynamicSchedule', 'req', update);
    assert.deepEqual(update, { chargingProfileId: 101, scheduleUpdate: { setpoint: 4000, limit: 4000, dischargeLimit: 0 } });

    // the station refuses the next update (it lost the profile): the following re-plan installs it again
    clients[0]!.handle('UpdateDynamicSchedule', async () => ({ status: 'Rejected', statusInfo: { reasonCode: 'UnknownProfile' } }));
    await dispatch([sched(`${S21}-1`, [2, 2, 2, 0, 0, 0, 0, 0])]);
    assert.deepEqual((await deliver(S21)).map((d) => `${d.action}:${d.outcome}`), ['SetChargingProfile:acked', 'UpdateDynamicSchedule:rejected']);
    received[S21] = [];
    await dispatch([sched(`${S21}-1`, [3, 3, 3, 0, 0, 0, 0, 0])]);
    assert.deepEqual((await deliver(S21)).map((d) => `${d.action}:${d.outcome}`), ['SetChargingProfile:acked', 'SetChargingProfile:acked']);
    assert.equal(profileOf(received[S21]![1]!.params).chargingProfileKind, 'Dynamic');
  });

  it('NotifyPriorityCharging sets the demand’s priority and asks for a re-allocation; activated false clears it', async () => {
    assert.equal((await demandOf(`${S21}-1`))?.priority, undefined);
    const before = t.areaChanged.length;
    assert.deepEqual(await clients[0]!.call('NotifyPriorityCharging', { transactionId: `tx-${S21}`, activated: true }), {});
    assert.equal((await demandOf(`${S21}-1`))?.priority, true);
    assert.ok(t.areaChanged.slice(before).some((e) => e.reason === 'ocpp:priority-charging'));
    await clients[0]!.call('NotifyPriorityCharging', { transactionId: `tx-${S21}`, activated: false });
    assert.equal((await demandOf(`${S21}-1`))?.priority, undefined);
    // an unknown transaction is answered (the response has no fields) and stores nothing
    assert.deepEqual(await clients[0]!.call('NotifyPriorityCharging', { transactionId: 'no-such-tx', activated: true }), {});
    // 2.0.1 does not define the message (a non-strict client, a strict one would not send it)
    const raw = await connectStation({ endpoint: t.endpoint, identity: S201, password: PW, version: '2.0.1', strict: false });
    try {
      assert.equal(await callErrorCode(raw.call('NotifyPriorityCharging', { transactionId: `tx-${S201}`, activated: true })), 'NotImplemented');
    } finally {
      await raw.close({ force: true });
    }
    const c = await connectStation({ endpoint: t.endpoint, identity: S201, password: PW, version: '2.0.1' });
    c.handle('SetChargingProfile', async ({ params }) => {
      received[S201]!.push({ action: 'SetChargingProfile', params: params as Obj });
      return { status: 'Accepted' };
    });
    clients[1] = c;
    await eventually(() => t.csms.isConnected(S201));
  });

  it('an ISO 15118 session’s TxProfile carries a salesTariff of relative price levels within the EV’s entries per tuple, accepted by the strict station', async () => {
    await clients[1]!.call('NotifyEVChargingNeeds', {
      evseId: 1,
      maxScheduleTuples: 6, // ISO 15118-2 MaxEntriesSAScheduleTuple: PMax + tariff entries per tuple
      chargingNeeds: { requestedEnergyTransfer: 'AC_three_phase', departureTime: new Date(Date.now() + 3 * 3_600_000).toISOString(), acChargingParameters: { energyAmount: 15_000, evMinCurrent: 6, evMaxCurrent: 16, evMaxVoltage: 400 } },
    });
    await drain();
    await dispatch([sched(`${S201}-1`, [11, 11, 5, 5, 5, 11, 11, 11])], [0.4, 0.4, null, 0.1, 0.1, 0.2, 0.2, 0.2]);
    assert.deepEqual((await deliver(S201)).map((d) => d.outcome), ['acked', 'acked']);
    const tx = received[S201]![1]!.params;
    assertValidOcpp('2.0.1', 'SetChargingProfile', 'req', tx);
    const schedules = profileOf(tx).chargingSchedule;
    assert.ok(schedules.length >= 2, 'an SAScheduleList with alternatives');
    for (const s of schedules) {
      assert.ok(s.chargingSchedulePeriod.length + (s.salesTariff?.salesTariffEntry as unknown[]).length <= 6);
      assert.deepEqual(s.salesTariff, {
        id: 101,
        // 4 price steps, at most 6 / 2 = 3 tariff entries: the unknown interval (the mean of the known
        // prices, 0.229) merges into its dearer neighbour (0.4)
        numEPriceLevels: 3,
        salesTariffEntry: [
          { relativeTimeInterval: { start: 0 }, ePriceLevel: 2 }, // 0.4
          { relativeTimeInterval: { start: 2700 }, ePriceLevel: 0 }, // 0.1
          { relativeTimeInterval: { start: 4500, duration: 2700 }, ePriceLevel: 1 }, // 0.2
        ],
      });
    }
  });

  it('a discharging 2.1 station’s meter values (import and export, as the demo sim station sends them) are checked signed against its CentralSetpoint', async () => {
    const [run] = await get().query<{ id: number }>(
      `INSERT INTO allocation_run (grid_area_id, trigger, horizon_start, interval_min, interval_count, status, inputs_digest, verified)
       VALUES ($1, 'test', now(), 15, 1, 'optimal', 'x', true) RETURNING id`,
      [AREA],
    );
    const start = new Date(Math.floor(Date.now() / 900_000) * 900_000);
    await get().query(`INSERT INTO setpoint (run_id, evse_id, start_at, kw, cap_kw, export_cap_kw) VALUES ($1, $2, $3, -10, 0, 10)`, [run!.id, `${S21}-2`, start]);
    const c = clients[0]!;
    const tx = { transactionId: 'tx-v2x-meter', chargingState: 'Charging', operationMode: 'CentralSetpoint' };
    // services/demo/sim-station.ts on 2.1: both directions, no unitOfMeasure (W, Wh).
    const sample = (at: Date, netW: number, importWh: number, exportWh: number) => ({
      timestamp: at.toISOString(),
      sampledValue: [
        { value: Math.max(0, netW), measurand: 'Power.Active.Import' },
        { value: Math.max(0, -netW), measurand: 'Power.Active.Export' },
        { value: importWh, measurand: 'Energy.Active.Import.Register' },
        { value: exportWh, measurand: 'Energy.Active.Export.Register' },
      ],
    });
    // Meter value times inside the setpoint's interval, whatever the wall clock does during the test.
    const now = start.getTime() + 1000;
    await c.call('TransactionEvent', aTransactionEvent201('Started', { transactionInfo: { transactionId: tx.transactionId }, evse: { id: 2, connectorId: 1 }, meterValue: [sample(new Date(now), 0, 5_000, 1_000)] }));
    await c.call('TransactionEvent', aTransactionEvent201('Updated', { seqNo: 1, transactionInfo: tx, evse: { id: 2, connectorId: 1 }, meterValue: [sample(new Date(now + 1000), -10_000, 5_000, 1_500)] }));
    await c.call('TransactionEvent', aTransactionEvent201('Updated', { seqNo: 2, transactionInfo: tx, evse: { id: 2, connectorId: 1 }, meterValue: [sample(new Date(now + 2000), -12_000, 5_000, 2_000)] }));
    const rows = await get().query<{ ok: boolean; excess_kw: number; detail: { measuredKw: number; setpointKw: number } }>(
      `SELECT ok, excess_kw, detail FROM ocpp_compliance WHERE station_id = $1 AND kind = 'meter' ORDER BY at`,
      [S21],
    );
    // The Started event measured 0 kW (within [−10, 0]); −10 kW is the setpoint; −12 kW exceeds the discharge cap by 2 kW.
    assert.deepEqual(rows.map((r) => [r.ok, Number(r.excess_kw), r.detail.measuredKw]), [[true, 0, 0], [true, 0, -10], [false, 2, -12]]);
    const measured = await get().query<{ value: number }>(`SELECT value FROM measurement WHERE node_id = $1 AND measurand = 'Power.Active.Import' ORDER BY time`, [`${S21}-2`]);
    assert.deepEqual(measured.map((m) => Number(m.value)), [0, -10, -12]);
    const [session] = await get().query<{ energy_exported_kwh: number; energy_delivered_kwh: number }>(
      `SELECT energy_exported_kwh, energy_delivered_kwh FROM charging_session WHERE station_id = $1 AND transaction_id = $2`,
      [S21, tx.transactionId],
    );
    assert.deepEqual([Number(session!.energy_delivered_kwh), Number(session!.energy_exported_kwh)], [0, 1]);
  });
});
