import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildSaScheduleProfile, checkEvSchedule } from '../../../grid-adapters/iso15118/sa-schedules.ts';
import { sentSchedule } from '../../../grid-adapters/ocpp/composite.ts';
import { limitAt, unitToKw } from '../../../grid-adapters/ocpp/schedule.ts';
import { assertValidOcpp } from '../../helpers/ocpp-schemas.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

interface Sched {
  id: number;
  chargingRateUnit: 'W' | 'A';
  chargingSchedulePeriod: { startPeriod: number; limit: number }[];
  salesTariff?: { numEPriceLevels: number; salesTariffEntry: { relativeTimeInterval: { start: number; duration?: number }; ePriceLevel: number }[] };
}
const schedules = (payload: object) => (payload as { chargingProfile: { chargingSchedule: Sched[] } }).chargingProfile.chargingSchedule;

describe('ISO 15118 SAScheduleList via a TxProfile', () => {
  const horizon = { startMs: T0, intervalMinutes: 15, count: 8 };
  const kw = [11, 11, 7, 7, -3, 0, 11, 11];
  const capKw = [22, 22, 22, 11, 11, 11, 22, 22];

  it('offers plan, cap and a cautious flat schedule, schema-valid for 2.0.1 and 2.1', () => {
    for (const version of ['2.0.1', '2.1'] as const) {
      const p = buildSaScheduleProfile({ version, ocppEvseId: 1, transactionId: 'tx', horizon, kw, capKw, prices: [0.3, 0.3, 0.1, 0.1, 0.2, 0.2, 0.3, 0.3] });
      assertValidOcpp(version, 'SetChargingProfile', 'req', p);
      const s = schedules(p);
      assert.equal(s.length, 3);
      assert.deepEqual(s.map((x) => x.id), [1011, 1012, 1013]);
      assert.deepEqual(s[0]!.chargingSchedulePeriod.map((x) => x.limit), [11000, 7000, 0, 11000]); // export → 0
      assert.deepEqual(s[2]!.chargingSchedulePeriod, [{ startPeriod: 0, limit: 0 }]);
      assert.deepEqual(s[0]!.salesTariff, {
        id: 101,
        numEPriceLevels: 3,
        salesTariffEntry: [
          // each entry ends where the next starts; the last one runs to the end of the schedule
          { relativeTimeInterval: { start: 0 }, ePriceLevel: 2 },
          { relativeTimeInterval: { start: 1800 }, ePriceLevel: 0 },
          { relativeTimeInterval: { start: 3600 }, ePriceLevel: 1 },
          { relativeTimeInterval: { start: 5400, duration: 1800 }, ePriceLevel: 2 },
        ],
      });
    }
  });

  it('keeps periods + tariff entries of each schedule within maxScheduleTuples (entries per SAScheduleTuple) and drops schedules equal to the plan', () => {
    const prices = [0.3, 0.3, 0.1, 0.1, 0.2, 0.2, 0.3, 0.3];
    // 1 entry: the limits come first, no tariff; every schedule one period, never above the plan
    const one = schedules(buildSaScheduleProfile({ version: '2.0.1', ocppEvseId: 1, transactionId: 'tx', horizon, kw, capKw, prices, maxScheduleTuples: 1 }));
    assert.equal(one.length, 3);
    assert.ok(one.every((x) => x.chargingSchedulePeriod.length === 1 && x.salesTariff === undefined));
    assert.deepEqual(one[0]!.chargingSchedulePeriod, [{ startPeriod: 0, limit: 0 }]);
    // 5 entries: at most 2 tariff entries (merged keeping the dearer level), the rest periods
    const cheapFirst = [0.1, 0.1, 0.1, 0.1, 0.3, 0.3, 0.3, 0.2];
    const five = schedules(buildSaScheduleProfile({ version: '2.0.1', ocppEvseId: 1, transactionId: 'tx', horizon, kw, capKw, prices: cheapFirst, maxScheduleTuples: 5 }));
    for (const x of five) {
      assert.ok(x.chargingSchedulePeriod.length + x.salesTariff!.salesTariffEntry.length <= 5);
      assertValidOcpp('2.0.1', 'SetChargingProfile', 'req', { evseId: 1, chargingProfile: { id: 101, stackLevel: 0, chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Absolute', transactionId: 't', chargingSchedule: [x] } });
    }
    // 0.3 and 0.2 merge into the dearer level; the cheap first hour keeps its own
    assert.deepEqual(five[0]!.salesTariff, { id: 101, numEPriceLevels: 2, salesTariffEntry: [{ relativeTimeInterval: { start: 0 }, ePriceLevel: 0 }, { relativeTimeInterval: { start: 3600, duration: 3600 }, ePriceLevel: 1 }] });
    assert.ok(five[0]!.chargingSchedulePeriod.length <= 3);
    assert.equal(schedules(buildSaScheduleProfile({ version: '2.0.1', ocppEvseId: 1, transactionId: 'tx', horizon, kw: Array(8).fill(5), capKw: Array(8).fill(5) })).length, 1);
    assert.throws(() => buildSaScheduleProfile({ version: '2.0.1', ocppEvseId: 1, transactionId: 'tx', horizon, kw: [1] }), RangeError);
  });

  it('never offers more than planned, at most maxPeriods periods (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -100, max: 500 }).map((x) => x / 10), { minLength: 96, maxLength: 96 }), fc.integer({ min: 1, max: 30 }), (kws, maxPeriods) => {
        const h = { startMs: T0, intervalMinutes: 15, count: 96 };
        const p = buildSaScheduleProfile({ version: '2.0.1', ocppEvseId: 2, transactionId: 't', horizon: h, kw: kws, maxPeriods, unit: 'A', voltageV: 230, phases: 3 });
        assertValidOcpp('2.0.1', 'SetChargingProfile', 'req', p);
        const first = schedules(p)[0]!;
        assert.ok(first.chargingSchedulePeriod.length <= maxPeriods);
        for (let t = 0; t < 96; t++) assert.ok(unitToKw(limitAt(first.chargingSchedulePeriod, t * 900), 'A', 230, 3) <= Math.max(0, kws[t]!) + 1e-9);
      }),
      { numRuns: 100 },
    );
  });

  it('checks the EV’s chosen schedule against the limits sent (K17)', () => {
    const p = buildSaScheduleProfile({ version: '2.0.1', ocppEvseId: 1, transactionId: 'tx', horizon, kw });
    const limits = sentSchedule(p)!.schedule;
    const ev = (limitW: number) => ({ timeBase: new Date(T0).toISOString(), chargingSchedule: { id: 1, chargingRateUnit: 'W' as const, chargingSchedulePeriod: [{ startPeriod: 0, limit: limitW }, { startPeriod: 3600, limit: 0 }, { startPeriod: 5400, limit: limitW }] } });
    const notify = { evseId: 1, ...ev(7000) };
    assertValidOcpp('2.0.1', 'NotifyEVChargingSchedule', 'req', notify);
    assert.equal(checkEvSchedule(ev(7000), limits, { toleranceKw: 0.1 }).ok, true);
    const over = checkEvSchedule(ev(11000), limits, { toleranceKw: 0.1 });
    assert.equal(over.ok, false);
    assert.equal(over.maxExcessKw, 4); // 11 kW where 7 kW was sent (30–60 min)
  });
});
