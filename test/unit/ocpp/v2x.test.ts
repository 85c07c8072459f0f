import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildV2xTxProfile21 } from '../../../grid-adapters/ocpp/v2x-21.ts';
import { assertValidOcpp } from '../../helpers/ocpp-schemas.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

interface P {
  startPeriod: number;
  operationMode: string;
  setpoint: number;
  limit: number;
  dischargeLimit?: number;
}
const periodsOf = (p: object) => (p as { chargingProfile: { chargingSchedule: { chargingSchedulePeriod: P[] }[] } }).chargingProfile.chargingSchedule[0]!.chargingSchedulePeriod;

describe('OCPP 2.1 V2X TxProfile (signed setpoints)', () => {
  it('keeps one sign convention: import +, export −, rounded towards zero, schema-valid 2.1', () => {
    const p = buildV2xTxProfile21({
      ocppEvseId: 1,
      transactionId: 'tx',
      horizon: { startMs: T0, intervalMinutes: 15, count: 4 },
      kw: [7.45, 7.45, -5.05, 0],
      exportCapKw: [0, 0, 10, 10],
      maxOfflineDurationS: 600,
    });
    assertValidOcpp('2.1', 'SetChargingProfile', 'req', p);
    assert.deepEqual(periodsOf(p), [
      { startPeriod: 0, operationMode: 'CentralSetpoint', setpoint: 7450, limit: 7450 },
      { startPeriod: 1800, operationMode: 'CentralSetpoint', setpoint: -5050, limit: 0, dischargeLimit: -10000 },
      { startPeriod: 2700, operationMode: 'CentralSetpoint', setpoint: 0, limit: 0, dischargeLimit: -10000 },
    ]);
    assert.equal((p as { chargingProfile: { maxOfflineDuration: number } }).chargingProfile.maxOfflineDuration, 600);
  });

  it('merges a charge and a discharge period into neither (0), never into the opposite direction', () => {
    const p = buildV2xTxProfile21({ ocppEvseId: 1, transactionId: 't', horizon: { startMs: T0, intervalMinutes: 15, count: 2 }, kw: [5, -3], maxPeriods: 1 });
    assert.deepEqual(periodsOf(p), [{ startPeriod: 0, operationMode: 'CentralSetpoint', setpoint: 0, limit: 0 }]);
  });

  it('never asks for more than planned in either direction, within maxPeriods (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -200, max: 200 }).map((x) => x / 10), { minLength: 16, maxLength: 16 }), fc.integer({ min: 1, max: 10 }), (kw, maxPeriods) => {
        const p = buildV2xTxProfile21({ ocppEvseId: 2, transactionId: 't', horizon: { startMs: T0, intervalMinutes: 15, count: 16 }, kw, maxPeriods, unit: 'A', voltageV: 230, phases: 3 });
        assertValidOcpp('2.1', 'SetChargingProfile', 'req', p);
        const ps = periodsOf(p);
        assert.ok(ps.length <= maxPeriods);
        for (let t = 0; t < 16; t++) {
          const cur = [...ps].reverse().find((x) => x.startPeriod <= t * 900)!;
          const plannedA = (kw[t]! * 1000) / (230 * 3);
          // Same sign (or zero) and no larger magnitude than planned.
          assert.ok(cur.setpoint === 0 || Math.sign(cur.setpoint) === Math.sign(plannedA), `t=${t}`);
          assert.ok(Math.abs(cur.setpoint) <= Math.abs(plannedA) + 1e-9, `t=${t}: ${cur.setpoint} vs ${plannedA}`);
          assert.ok(cur.setpoint <= cur.limit && (cur.dischargeLimit ?? 0) <= Math.min(0, cur.setpoint) + 1e-9);
        }
      }),
      { numRuns: 200 },
    );
  });
});
