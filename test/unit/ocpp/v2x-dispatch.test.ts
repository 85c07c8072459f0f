/**
 * OCPP 2.1 V2X pieces without I/O: V2X charging needs → demand (units, signs, the SoC frame), Dynamic
 * TxProfiles and UpdateDynamicSchedule (K28), the station maximum's dischargeLimit, the rule that picks
 * UpdateDynamicSchedule over SetChargingProfile, and the ISO 15118 salesTariff. Every OCPP payload is
 * checked against the official 2.1 schema.
 */
import assert from 'node:assert/strict';
import { salesTariff } from '../../../grid-adapters/iso15118/sa-schedules.ts';
import { chargingNeedsToDemand, v2xToDemand } from '../../../grid-adapters/ocpp/charging-needs.ts';
import { buildStationProfiles } from '../../../grid-adapters/ocpp/profiles.ts';
import { buildDynamicTxProfile21, dynamicScheduleUpdate21, onlyDynamicValuesChanged, withStationDischargeLimit21 } from '../../../grid-adapters/ocpp/v2x-21.ts';
import { dynamicOrUpdate } from '../../../services/core/dispatch-dynamic.ts';
import { assertValidOcpp } from '../../helpers/ocpp-schemas.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('OCPP 2.1 V2X charging needs → demand', () => {
  const v2x = { maxChargePower: 11_000, minChargePower: 1_400, maxDischargePower: 10_000, evTargetEnergyRequest: 20_000, evMinV2XEnergyRequest: -15_000, evMaxV2XEnergyRequest: 25_000, evMaxEnergyRequest: 30_000 };

  it('maps W/Wh to kW/kWh, keeps discharge a magnitude, anchors the SoC frame at the V2X minimum', () => {
    const d = chargingNeedsToDemand({ requestedEnergyTransfer: 'DC_BPT', controlMode: 'DynamicControl', mobilityNeedsMode: 'EVCC', v2xChargingParameters: v2x });
    assert.deepEqual(d, {
      controlMode: 'DynamicControl', mobilityNeedsMode: 'EVCC', maxPowerKw: 11, minPowerKw: 1.4, energyKwh: 20,
      // SoC now is 15 kWh above the V2X minimum (frame origin); the maximum SoC is 30 kWh above now
      v2x: { maxDischargeKw: 10, minSocKwh: 0, socKwh: 15, capacityKwh: 45 },
    });
  });

  it('a SoC below the V2X range puts the floor above the SoC (no discharge until charged above it)', () => {
    const d = v2xToDemand({ requestedEnergyTransfer: 'AC_BPT', v2xChargingParameters: { ...v2x, evMinV2XEnergyRequest: 4_000 } });
    assert.deepEqual(d.v2x, { maxDischargeKw: 10, minSocKwh: 4, socKwh: 0, capacityKwh: 30 });
  });

  it('sums L1..L3 when per-phase values are given', () => {
    const d = v2xToDemand({ requestedEnergyTransfer: 'AC_BPT', v2xChargingParameters: { ...v2x, maxChargePower: 3_700, maxChargePower_L2: 3_700, maxChargePower_L3: 3_700, maxDischargePower: 2_000, maxDischargePower_L2: 2_000, maxDischargePower_L3: 2_000 } });
    assert.equal(d.maxPowerKw, 11.1);
    assert.equal(d.v2x?.maxDischargeKw, 6);
  });

  it('no V2X without a bidirectional transfer mode or a discharge power; above the target asks for 0 kWh', () => {
    assert.equal(v2xToDemand({ requestedEnergyTransfer: 'DC', v2xChargingParameters: v2x }).v2x, undefined);
    assert.equal(v2xToDemand({ requestedEnergyTransfer: 'DC_BPT', v2xChargingParameters: { ...v2x, maxDischargePower: 0 } }).v2x, undefined);
    assert.equal(v2xToDemand({ requestedEnergyTransfer: 'DC_BPT', v2xChargingParameters: { ...v2x, evTargetEnergyRequest: -2_000 } }).energyKwh, 0);
    // 2.0.1-shaped needs are unchanged
    assert.deepEqual(chargingNeedsToDemand({ requestedEnergyTransfer: 'DC', dcChargingParameters: { evMaxCurrent: 200, evMaxVoltage: 400, evMaxPower: 50_000, energyAmount: 30_000 } }), { maxPowerKw: 50, energyKwh: 30 });
  });
});

describe('OCPP 2.1 Dynamic TxProfile and UpdateDynamicSchedule (K28)', () => {
  const base = { ocppEvseId: 2, transactionId: 'tx-d', intervalMinutes: 15, validS: 1800, nowMs: T0 + 60_000, maxOfflineDurationS: 900 };

  it('is one CentralSetpoint period, kind Dynamic, no startSchedule, duration and dynUpdateTime set; schema-valid', () => {
    const p = buildDynamicTxProfile21({ ...base, kw: -6, importCapKw: 0, exportCapKw: 8 });
    assertValidOcpp('2.1', 'SetChargingProfile', 'req', p);
    assert.deepEqual(p, {
      evseId: 2,
      chargingProfile: {
        id: 102, stackLevel: 0, chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Dynamic', transactionId: 'tx-d', maxOfflineDuration: 900,
        dynUpdateTime: new Date(T0 + 60_000).toISOString(),
        chargingSchedule: [{ id: 102, duration: 1800, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, operationMode: 'CentralSetpoint', setpoint: -6000, limit: 0, dischargeLimit: -8000 }] }],
      },
    });
    const u = dynamicScheduleUpdate21(p);
    assertValidOcpp('2.1', 'UpdateDynamicSchedule', 'req', u);
    assert.deepEqual(u, { chargingProfileId: 102, scheduleUpdate: { setpoint: -6000, limit: 0, dischargeLimit: -8000 } });
  });

  it('an update always carries dischargeLimit (0 when charging), so no old export allowance survives', () => {
    const u = dynamicScheduleUpdate21(buildDynamicTxProfile21({ ...base, kw: 7, importCapKw: 7, exportCapKw: 0 }));
    assert.deepEqual(u.scheduleUpdate, { setpoint: 7000, limit: 7000, dischargeLimit: 0 });
  });

  it('only values changed ⇔ same profile id, transaction, unit, duration, mode', () => {
    const a = buildDynamicTxProfile21({ ...base, kw: -6, exportCapKw: 8 });
    assert.equal(onlyDynamicValuesChanged(a, buildDynamicTxProfile21({ ...base, kw: 3, nowMs: T0 + 900_000 })), true);
    assert.equal(onlyDynamicValuesChanged(a, buildDynamicTxProfile21({ ...base, transactionId: 'other', kw: 3 })), false);
    assert.equal(onlyDynamicValuesChanged(a, buildDynamicTxProfile21({ ...base, unit: 'A', kw: 3 })), false);
    assert.equal(onlyDynamicValuesChanged(a, buildDynamicTxProfile21({ ...base, validS: 900, kw: 3 })), false);
    assert.equal(onlyDynamicValuesChanged({ chargingProfile: { chargingProfileKind: 'Absolute' } }, a), false);
  });

  it('picks UpdateDynamicSchedule only when the installed profile is acked after the last boot and the last update was not refused', () => {
    const installed = buildDynamicTxProfile21({ ...base, kw: -6, exportCapKw: 8 });
    const next = buildDynamicTxProfile21({ ...base, kw: -2, exportCapKw: 8, nowMs: T0 + 900_000 });
    const acked = { lastSet: { payload: installed, state: 'acked', ackedMs: T0 + 2_000 }, last: { action: 'SetChargingProfile', state: 'acked' } };
    assert.equal(dynamicOrUpdate(next, acked, T0).action, 'UpdateDynamicSchedule');
    assert.deepEqual(dynamicOrUpdate(next, acked, T0).payload, { chargingProfileId: 102, scheduleUpdate: { setpoint: -2000, limit: 0, dischargeLimit: -8000 } });
    assert.equal(dynamicOrUpdate(next, acked, null).action, 'UpdateDynamicSchedule');
    // not installed, still pending, rebooted since, refused update, changed shape → the whole profile again
    assert.equal(dynamicOrUpdate(next, undefined, null).action, 'SetChargingProfile');
    assert.equal(dynamicOrUpdate(next, { ...acked, lastSet: { ...acked.lastSet, state: 'pending', ackedMs: null } }, null).action, 'SetChargingProfile');
    assert.equal(dynamicOrUpdate(next, acked, T0 + 5_000).action, 'SetChargingProfile');
    assert.equal(dynamicOrUpdate(next, { ...acked, last: { action: 'UpdateDynamicSchedule', state: 'rejected' } }, null).action, 'SetChargingProfile');
    assert.equal(dynamicOrUpdate(next, { ...acked, last: { action: 'UpdateDynamicSchedule', state: 'acked' } }, null).action, 'UpdateDynamicSchedule');
    const otherTx = buildDynamicTxProfile21({ ...base, transactionId: 'tx-new', kw: 1 });
    assert.deepEqual(dynamicOrUpdate(otherTx, acked, null), { action: 'SetChargingProfile', payload: otherTx });
  });
});

describe('OCPP 2.1 station maximum with dischargeLimit', () => {
  it('keeps limit as the import cap, adds the largest export cap of each merged period (≤ 0), 0 on the held tail', () => {
    const horizon = { startMs: T0, intervalMinutes: 15, count: 4 };
    const [max] = buildStationProfiles({ version: '2.1', stationId: 'S', horizon, nowMs: T0, stationCapKw: [10, 10, 10, 22], evses: [], holdAfterHorizonKw: 10 });
    const p = withStationDischargeLimit21(max!.payload, [0, 5, 7.5, 0], { intervalS: 900, unit: 'W' });
    assertValidOcpp('2.1', 'SetChargingProfile', 'req', p);
    const periods = (p as { chargingProfile: { chargingProfilePurpose: string; chargingSchedule: { chargingSchedulePeriod: object[] }[] } }).chargingProfile;
    assert.equal(periods.chargingProfilePurpose, 'ChargingStationMaxProfile');
    assert.deepEqual(periods.chargingSchedule[0]!.chargingSchedulePeriod, [
      { startPeriod: 0, limit: 10000, dischargeLimit: -7500 },
      { startPeriod: 2700, limit: 22000, dischargeLimit: 0 },
      { startPeriod: 3600, limit: 10000, dischargeLimit: 0 },
    ]);
  });
});

describe('ISO 15118 salesTariff from prices', () => {
  it('ranks prices (0 = cheapest), unknown prices count as the mean, no known price = no tariff', () => {
    assert.deepEqual(salesTariff([0.2, null, 0.4, 0.4], 900, 101), {
      id: 101, numEPriceLevels: 3,
      salesTariffEntry: [
        { relativeTimeInterval: { start: 0 }, ePriceLevel: 0 },
        { relativeTimeInterval: { start: 900 }, ePriceLevel: 1 }, // mean of 0.2, 0.4, 0.4
        { relativeTimeInterval: { start: 1800, duration: 1800 }, ePriceLevel: 2 },
      ],
    });
    assert.equal(salesTariff([null, null], 900, 101), undefined);
  });

  it('never uses more than 255 price levels (ISO 15118-2 unsignedByte) nor 1024 entries, and stays schema-valid', () => {
    const prices = Array.from({ length: 2000 }, (_, t) => (t % 2 === 0 ? t : -t));
    const st = salesTariff(prices, 60, 300) as { id: number; numEPriceLevels: number; salesTariffEntry: { ePriceLevel: number; relativeTimeInterval: { start: number; duration?: number } }[] };
    assert.ok(st.numEPriceLevels <= 255 && st.salesTariffEntry.every((e) => e.ePriceLevel < 255));
    assert.ok(st.salesTariffEntry.length <= 1024);
    assert.ok(st.id >= 1 && st.id <= 255);
    const last = st.salesTariffEntry[st.salesTariffEntry.length - 1]!;
    assert.equal(last.relativeTimeInterval.start + last.relativeTimeInterval.duration!, 2000 * 60);
    assertValidOcpp('2.1', 'SetChargingProfile', 'req', {
      evseId: 1,
      chargingProfile: { id: 101, stackLevel: 0, chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Absolute', transactionId: 't', chargingSchedule: [{ id: 1, startSchedule: new Date(T0).toISOString(), chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 1 }], salesTariff: st }] },
    });
  });
});
