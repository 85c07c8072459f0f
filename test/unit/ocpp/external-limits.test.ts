import assert from 'node:assert/strict';
import { externalLimitKw } from '../../../grid-adapters/ocpp/external-limits.ts';
import { assertValidOcpp } from '../../helpers/ocpp-schemas.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const horizon = { startMs: T0, intervalMinutes: 15, count: 4 };
const iso = (ms: number) => new Date(ms).toISOString();

describe('external charging limits (NotifyChargingLimit schedules → kW caps)', () => {
  it('an absolute W schedule caps the intervals it covers, with the lowest limit inside an interval', () => {
    const s = { id: 1, startSchedule: iso(T0 + 15 * 60_000), duration: 1800, chargingRateUnit: 'W' as const, chargingSchedulePeriod: [{ startPeriod: 0, limit: 11_000 }, { startPeriod: 600, limit: 7_000 }] };
    assertValidOcpp('2.0.1', 'NotifyChargingLimit', 'req', { chargingLimit: { chargingLimitSource: 'SO' }, chargingSchedule: [s] });
    assert.deepEqual(externalLimitKw([s], horizon, { reportedMs: T0 }), [null, 7, 7, null]);
  });

  it('without startSchedule the schedule starts when reported; without duration it lasts', () => {
    const s = { chargingRateUnit: 'W' as const, chargingSchedulePeriod: [{ startPeriod: 0, limit: 5_000 }] };
    assert.deepEqual(externalLimitKw([s], horizon, { reportedMs: T0 + 20 * 60_000 }), [null, 5, 5, 5]);
  });

  it('converts A with the period phases or the station phases and voltage; several schedules give the minimum', () => {
    const a = { chargingRateUnit: 'A' as const, chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }] };
    const a1 = { chargingRateUnit: 'A' as const, chargingSchedulePeriod: [{ startPeriod: 0, limit: 16, numberPhases: 1 }] };
    assert.deepEqual(externalLimitKw([a], horizon, { reportedMs: T0, voltageV: 230, phases: 3 }), Array(4).fill(11.04));
    assert.deepEqual(externalLimitKw([a, a1], horizon, { reportedMs: T0, voltageV: 230, phases: 3 }), Array(4).fill(3.68));
  });

  it('ignores 2.1 periods without limit and caps negative limits at 0', () => {
    const s = { chargingRateUnit: 'W' as const, chargingSchedulePeriod: [{ startPeriod: 0 }, { startPeriod: 1800, limit: -2000 }] };
    assert.deepEqual(externalLimitKw([s], horizon, { reportedMs: T0 }), [null, null, 0, 0]);
    assert.deepEqual(externalLimitKw([], horizon, { reportedMs: T0 }), [null, null, null, null]);
  });
});
