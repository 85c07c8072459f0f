/**
 * OCPP 2.0.1 / 2.1 external charging limits and installed-profile management, end to end with
 * independent strict ocpp-rpc clients: NotifyChargingLimit / ClearedChargingLimit (K11–K13) stored,
 * answered, re-planned and read as optimizer envelopes.
 */
import assert from 'node:assert/strict';
import type { RPCClient } from 'ocpp-rpc';
import type { EnvelopeSource } from '../../services/core/orchestrator.ts';
import { externalLimits, ocppExternalLimitEnvelopes } from '../../services/ocpp/limit-store.ts';
import { forEachDriver } from '../helpers/db.ts';
import type { TestCsms } from '../helpers/ocpp-csms.ts';
import { callErrorCode } from '../helpers/ocpp-station.ts';
import { areaTopology, startOcppRig, type OcppRig } from '../builders/ocpp-rig.ts';

const AREA = 'ga-limits';
const S21 = 'LIM-21';
const S201 = 'LIM-201';
const S16 = 'LIM-16';
const PW = 'external-limits-password-1';

// The orchestrator's contract (services/core/orchestrator.ts): checked at compile time.
const envelopeSource: EnvelopeSource = ocppExternalLimitEnvelopes;

forEachDriver('OCPP external charging limits', (get) => {
  let rig: OcppRig;
  let t: TestCsms;
  let clients: RPCClient[];
  const slot = 900_000;
  const horizon = () => ({ startMs: Math.floor(Date.now() / slot) * slot, intervalMinutes: 15, count: 4 });

  before(async () => {
    rig = await startOcppRig(get(), { nodes: areaTopology(AREA, [S21, S201, S16]), password: PW, env: { OCPP_CALL_TIMEOUT_MS: '1500' } });
    ({ t, clients } = rig);
  });

  after(async () => {
    await rig?.close();
  });

  const connect = (identity: string, version: '1.6' | '2.0.1' | '2.1', strict = true): Promise<RPCClient> => rig.connect(identity, version, { strict });

  it('2.0.1: NotifyChargingLimit (SO, station-wide) is stored, answered {} and re-plans the area; the optimizer gets a station envelope', async () => {
    const c = await connect(S201, '2.0.1');
    const before = t.areaChanged.length;
    const h = horizon();
    const answer = await c.call('NotifyChargingLimit', {
      chargingLimit: { chargingLimitSource: 'SO', isGridCritical: true },
      chargingSchedule: [{ id: 7, startSchedule: new Date(h.startMs).toISOString(), duration: 1800, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 20_000 }] }],
    });
    assert.deepEqual(answer, {});
    const [limit] = await externalLimits(get(), S201);
    assert.deepEqual({ ...limit, reportedMs: 0 }, {
      stationId: S201, evseId: 0, source: 'SO', isGridCritical: true, isLocalGeneration: null, reportedMs: 0,
      schedules: [{ id: 7, startSchedule: new Date(h.startMs).toISOString(), duration: 1800, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 20_000 }] }],
    });
    assert.deepEqual(t.areaChanged.slice(before), [{ gridAreaId: AREA, reason: 'ocpp:external-limit' }]);
    const envelopes = await envelopeSource(get(), [AREA, S201, `${S201}-1`, `${S201}-2`], h);
    assert.deepEqual(envelopes, [{ nodeId: S201, importKw: [20, 20, null, null], exportKw: [null, null, null, null] }]);
    // Another station's node ids do not pick it up.
    assert.deepEqual(await ocppExternalLimitEnvelopes(get(), [S21], h), []);
  });

  it('2.0.1: a limit on an EVSE (A) becomes an envelope on that EVSE node; a new report of the same source replaces it', async () => {
    const c = clients[0]!;
    const send = (limitA: number) =>
      c.call('NotifyChargingLimit', { evseId: 2, chargingLimit: { chargingLimitSource: 'EMS' }, chargingSchedule: [{ id: 1, chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: limitA }] }] });
    await send(16);
    await send(10);
    const limits = await externalLimits(get(), S201);
    assert.deepEqual(limits.map((l) => [l.evseId, l.source]), [[0, 'SO'], [2, 'EMS']]);
    const env = await ocppExternalLimitEnvelopes(get(), [S201], horizon());
    assert.deepEqual(env.map((e) => [e.nodeId, e.importKw]), [[S201, [20, 20, null, null]], [`${S201}-2`, [6.9, 6.9, 6.9, 6.9]]]);
  });

  it('2.0.1: ClearedChargingLimit removes that source’s limits and re-plans; an unknown source changes nothing', async () => {
    const c = clients[0]!;
    const before = t.areaChanged.length;
    assert.deepEqual(await c.call('ClearedChargingLimit', { chargingLimitSource: 'CSO' }), {});
    assert.equal(t.areaChanged.length, before);
    assert.deepEqual(await c.call('ClearedChargingLimit', { chargingLimitSource: 'EMS', evseId: 2 }), {});
    assert.deepEqual(t.areaChanged.slice(before), [{ gridAreaId: AREA, reason: 'ocpp:external-limit-cleared' }]);
    assert.deepEqual((await externalLimits(get(), S201)).map((l) => l.source), ['SO']);
    assert.deepEqual(await c.call('ClearedChargingLimit', { chargingLimitSource: 'SO' }), {});
    assert.deepEqual(await externalLimits(get(), S201), []);
    assert.deepEqual(await ocppExternalLimitEnvelopes(get(), [S201], horizon()), []);
  });

  it('2.0.1: a negative evseId is refused with PropertyConstraintViolation and stores nothing', async () => {
    const c = clients[0]!;
    assert.equal(await callErrorCode(c.call('NotifyChargingLimit', { evseId: -1, chargingLimit: { chargingLimitSource: 'EMS' } })), 'PropertyConstraintViolation');
    assert.deepEqual(await externalLimits(get(), S201), []);
  });

  it('2.1: a custom source string is stored; a local-generation limit is kept but is no cap; a limit without schedule gives no envelope', async () => {
    const c = await connect(S21, '2.1');
    assert.equal(c.protocol, 'ocpp2.1');
    await c.call('NotifyChargingLimit', { evseId: 0, chargingLimit: { chargingLimitSource: 'LocalPV', isLocalGeneration: true }, chargingSchedule: [{ id: 1, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 5000 }] }] });
    await c.call('NotifyChargingLimit', { chargingLimit: { chargingLimitSource: 'EMS' } });
    await c.call('NotifyChargingLimit', { evseId: 1, chargingLimit: { chargingLimitSource: 'SO' }, chargingSchedule: [{ id: 2, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 4000 }] }] });
    assert.deepEqual((await externalLimits(get(), S21)).map((l) => [l.evseId, l.source, l.isLocalGeneration]), [[0, 'EMS', null], [0, 'LocalPV', true], [1, 'SO', null]]);
    const env = await ocppExternalLimitEnvelopes(get(), [S21], horizon());
    assert.deepEqual(env.map((e) => [e.nodeId, e.importKw]), [[`${S21}-1`, [4, 4, 4, 4]]]);
  });

  it('1.6 defines neither message: NotImplemented', async () => {
    const raw = await connect(S16, '1.6', false);
    assert.equal(await callErrorCode(raw.call('NotifyChargingLimit', { chargingLimit: { chargingLimitSource: 'SO' } })), 'NotImplemented');
  });
});
