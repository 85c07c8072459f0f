import assert from 'node:assert/strict';
import {
  getConfigurationRequest16,
  getVariablesRequest2x,
  parseGetConfiguration16,
  parseGetVariables2x,
  preferredUnit,
  usableMaxPeriods,
} from '../../../grid-adapters/ocpp/capabilities.ts';
import { compareMeasurement, compareSchedules, reportedSchedule, sentSchedule } from '../../../grid-adapters/ocpp/composite.ts';
import { buildFailsafeProfile, FAILSAFE_PROFILE_ID } from '../../../grid-adapters/ocpp/failsafe.ts';
import { buildStationProfiles, type OcppVersion } from '../../../grid-adapters/ocpp/profiles.ts';
import { actions21, rekey21 } from '../../../grid-adapters/ocpp/schemas-21.ts';
import { assertValidOcpp } from '../../helpers/ocpp-schemas.ts';

const VERSIONS: OcppVersion[] = ['1.6', '2.0.1', '2.1'];
const T0 = Date.parse('2026-01-01T00:00:00Z');
const horizon = { startMs: T0, intervalMinutes: 15, count: 4 };

describe('OCPP 2.1 schemas', () => {
  it('re-keys the 2.1 $ids to the form strict mode looks up', () => {
    assert.equal(rekey21('urn:SetChargingProfileRequest'), 'urn:SetChargingProfile.req');
    assert.equal(rekey21('urn:GetCompositeScheduleResponse'), 'urn:GetCompositeSchedule.conf');
    assert.equal(rekey21('urn:NotifyPeriodicEventStream'), 'urn:NotifyPeriodicEventStream');
    for (const a of ['BootNotification', 'TransactionEvent', 'NotifyEVChargingNeeds', 'UpdateDynamicSchedule', 'NotifyPriorityCharging', 'UsePriorityCharging']) assert.ok(actions21().includes(a), a);
  });
});

describe('station capabilities', () => {
  it('builds schema-valid requests for every version', () => {
    assertValidOcpp('1.6', 'GetConfiguration', 'req', getConfigurationRequest16());
    assertValidOcpp('2.0.1', 'GetVariables', 'req', getVariablesRequest2x());
    assertValidOcpp('2.1', 'GetVariables', 'req', getVariablesRequest2x());
  });

  it('reads 1.6 configuration keys', () => {
    const c = parseGetConfiguration16({
      configurationKey: [
        { key: 'ChargingScheduleMaxPeriods', value: '24' },
        { key: 'ChargingScheduleAllowedChargingRateUnit', value: 'Current' },
        { key: 'ChargeProfileMaxStackLevel', value: '8' },
        { key: 'MaxChargingProfilesInstalled', value: 'lots' },
      ],
    });
    assert.deepEqual(c, { maxPeriods: 24, rateUnits: ['A'], maxStackLevel: 8 });
    assert.equal(preferredUnit(c), 'A');
    assert.equal(usableMaxPeriods(c, 48), 24);
    assert.deepEqual(parseGetConfiguration16({ configurationKey: [{ key: 'ChargingScheduleAllowedChargingRateUnit', value: 'Current,Power' }] }), { rateUnits: ['A', 'W'] });
    assert.equal(preferredUnit({ rateUnits: ['A', 'W'] }), 'W');
    assert.deepEqual(parseGetConfiguration16({}), {});
  });

  it('reads 2.x SmartChargingCtrlr variables, only Accepted ones', () => {
    const r = (name: string, value: string, status = 'Accepted', instance?: string) => ({
      attributeStatus: status,
      attributeValue: value,
      component: { name: 'SmartChargingCtrlr' },
      variable: { name, ...(instance ? { instance } : {}) },
    });
    const conf = { getVariableResult: [r('PeriodsPerSchedule', '2000'), r('RateUnit', 'A,W'), r('ProfileStackLevel', '3', 'Rejected'), r('Entries', '20', 'Accepted', 'ChargingProfiles'), r('Available', 'true')] };
    assertValidOcpp('2.0.1', 'GetVariables', 'conf', conf);
    const c = parseGetVariables2x(conf);
    assert.deepEqual(c, { maxPeriods: 2000, rateUnits: ['A', 'W'], maxProfiles: 20, smartCharging: true });
    assert.equal(usableMaxPeriods(c, 48), 1024); // never above the 2.1 schema's 1024
    assert.equal(usableMaxPeriods({}, 48), 48);
  });
});

describe('failsafe TxDefaultProfile', () => {
  for (const version of VERSIONS) {
    it(`is schema-valid for ${version}, Relative, on evse/connector 0, limit rounded down`, () => {
      const w = buildFailsafeProfile({ version, kwPerEvse: 3.68 });
      assertValidOcpp(version, 'SetChargingProfile', 'req', w);
      const a = buildFailsafeProfile({ version, kwPerEvse: 3.7, unit: 'A', voltageV: 230, phases: 3 });
      assertValidOcpp(version, 'SetChargingProfile', 'req', a);
      const p = (version === '1.6' ? (a as { csChargingProfiles: unknown }).csChargingProfiles : (a as { chargingProfile: unknown }).chargingProfile) as {
        chargingProfilePurpose: string;
        chargingProfileKind: string;
        stackLevel: number;
      };
      assert.equal(p.chargingProfilePurpose, 'TxDefaultProfile');
      assert.equal(p.chargingProfileKind, 'Relative');
      const text = JSON.stringify(a);
      assert.match(text, /"limit":5\.3[,}]/); // 3700 W / (230 V · 3) = 5.36 A, rounded down
      assert.doesNotMatch(text, /startSchedule/); // Relative: no startSchedule (K01.FR.41)
      assert.match(JSON.stringify(w), new RegExp(`"(id|chargingProfileId)":${FAILSAFE_PROFILE_ID}`));
    });
  }
  it('refuses a negative limit', () => assert.throws(() => buildFailsafeProfile({ version: '1.6', kwPerEvse: -1 }), RangeError));
});

describe('OCPP 2.1 charging profiles', () => {
  it('sends 2.x shapes, schema-valid for 2.1, with maxOfflineDuration on TxProfiles only', () => {
    const msgs = buildStationProfiles({
      version: '2.1',
      stationId: 'S',
      horizon,
      nowMs: T0,
      stationCapKw: [22, 22, 11, 11],
      holdAfterHorizonKw: 11,
      maxOfflineDurationS: 900,
      evses: [{ evseNodeId: 'S-1', ocppEvseId: 1, transactionId: 'tx-1', kw: [11, 11, 5, 5] }],
    });
    assert.equal(msgs.length, 2);
    for (const m of msgs) assertValidOcpp('2.1', 'SetChargingProfile', 'req', m.payload);
    const [max, tx] = msgs.map((m) => (m.payload as { chargingProfile: Record<string, unknown> }).chargingProfile);
    assert.equal(max!.maxOfflineDuration, undefined);
    assert.equal(tx!.maxOfflineDuration, 900);
    // 2.0.1 has no such field: never sent there.
    const v201 = buildStationProfiles({ version: '2.0.1', stationId: 'S', horizon, nowMs: T0, stationCapKw: [1, 1, 1, 1], maxOfflineDurationS: 900, evses: [{ evseNodeId: 'S-1', ocppEvseId: 1, transactionId: 't', kw: [1, 1, 1, 1] }] });
    for (const m of v201) assertValidOcpp('2.0.1', 'SetChargingProfile', 'req', m.payload);
  });
});

describe('closed loop comparison', () => {
  const sent = { startMs: T0, durationS: 3600, unit: 'W' as const, periods: [{ startPeriod: 0, limit: 11000 }, { startPeriod: 1800, limit: 5000 }] };

  it('accepts a reported schedule at or below the sent one, at any offset', () => {
    const reported = { startMs: T0 + 600_000, durationS: 1800, unit: 'W' as const, periods: [{ startPeriod: 0, limit: 7000 }, { startPeriod: 1200, limit: 5000 }] };
    assert.deepEqual(compareSchedules(sent, reported, { toleranceKw: 0.1 }), { ok: true, maxExcessKw: 0 });
  });

  it('finds the largest excess, in kW, also across units', () => {
    // 16 A · 230 V · 3 = 11.04 kW: fine before 1800 s; 6.04 kW over after it.
    const reported = { startMs: T0, durationS: 3600, unit: 'A' as const, periods: [{ startPeriod: 0, limit: 16 }] };
    const r = compareSchedules(sent, reported, { toleranceKw: 0.5 });
    assert.equal(r.ok, false);
    assert.equal(r.maxExcessKw, 6.04);
    assert.equal(r.atMs, T0 + 1800_000);
    assert.equal(compareSchedules(sent, reported, { toleranceKw: 7 }).ok, true);
  });

  it('reads sent and reported schedules of 1.6 and 2.x messages', () => {
    const [max] = buildStationProfiles({ version: '1.6', stationId: 'S', horizon, nowMs: T0, stationCapKw: [10, 10, 10, 10], evses: [] });
    const s = sentSchedule(max!.payload)!;
    assert.equal(s.evseId, 0);
    assert.equal(s.purpose, 'ChargePointMaxProfile');
    assert.deepEqual(s.schedule, { startMs: T0, durationS: 3600, unit: 'W', periods: [{ startPeriod: 0, limit: 10000 }] });
    assert.equal(sentSchedule(buildFailsafeProfile({ version: '2.0.1', kwPerEvse: 3 })), undefined);
    const conf16 = { status: 'Accepted', connectorId: 0, scheduleStart: new Date(T0).toISOString(), chargingSchedule: { duration: 60, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 9000 }] } };
    assertValidOcpp('1.6', 'GetCompositeSchedule', 'conf', conf16);
    assert.deepEqual(reportedSchedule(conf16), { startMs: T0, durationS: 60, unit: 'W', periods: [{ startPeriod: 0, limit: 9000 }] });
    const conf2 = { status: 'Accepted', schedule: { evseId: 1, duration: 60, scheduleStart: new Date(T0).toISOString(), chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }] } };
    assertValidOcpp('2.0.1', 'GetCompositeSchedule', 'conf', conf2);
    assertValidOcpp('2.1', 'GetCompositeSchedule', 'conf', conf2);
    assert.equal(reportedSchedule(conf2)?.unit, 'A');
    assert.equal(reportedSchedule({ status: 'Rejected' }), undefined);
  });

  it('measured power: only an excess beyond the tolerance is a deviation', () => {
    assert.deepEqual(compareMeasurement(7, 11, 0.5), { ok: true, excessKw: 0 });
    assert.deepEqual(compareMeasurement(11.4, 11, 0.5), { ok: true, excessKw: 0.4 });
    assert.deepEqual(compareMeasurement(12, 11, 0.5), { ok: false, excessKw: 1 });
    assert.deepEqual(compareMeasurement(2, -3, 0.5), { ok: false, excessKw: 2 }); // export setpoint: any import is excess
  });

  it('measured power while discharging (signed, OCPP 2.1 CentralSetpoint): the band is [setpoint, 0]', () => {
    assert.deepEqual(compareMeasurement(-10, -10, 0.5), { ok: true, excessKw: 0 });
    assert.deepEqual(compareMeasurement(-6, -10, 0.5), { ok: true, excessKw: 0 }, 'discharging less than planned is allowed');
    assert.deepEqual(compareMeasurement(0, -10, 0.5), { ok: true, excessKw: 0 });
    assert.deepEqual(compareMeasurement(-10.3, -10, 0.5), { ok: true, excessKw: 0.3 });
    assert.deepEqual(compareMeasurement(-12, -10, 0.5), { ok: false, excessKw: 2 }, 'beyond the discharge cap');
    assert.deepEqual(compareMeasurement(-3, 11, 0.5), { ok: false, excessKw: 3 }, 'discharging while told to charge');
    assert.deepEqual(compareMeasurement(-3, 0, 0.5), { ok: false, excessKw: 3 });
  });
});

describe('plan options from capabilities', () => {
  it('maps capabilities and version onto StationPlan fields', async () => {
    const { planOptionsFrom } = await import('../../../services/ocpp/plan-options.ts');
    assert.deepEqual(planOptionsFrom({}, '2.0.1', { OCPP_MAX_OFFLINE_S: 900 }), { maxPeriods: 48, unit: 'W' });
    assert.deepEqual(planOptionsFrom({ maxPeriods: 12, rateUnits: ['A'] }, '1.6', { OCPP_MAX_OFFLINE_S: 900 }), { maxPeriods: 12, unit: 'A' });
    assert.deepEqual(planOptionsFrom({ rateUnits: ['A', 'W'] }, '2.1', { OCPP_MAX_OFFLINE_S: 600 }), { maxPeriods: 48, unit: 'W', maxOfflineDurationS: 600 });
  });
});
