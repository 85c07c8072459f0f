import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_MAX_PERIODS,
  STATION_MAX_PROFILE_ID,
  buildStationProfiles,
  type ProfileMessage,
  type StationPlan,
} from '../../../grid-adapters/ocpp/profiles.ts';
import { limitAt, unitToKw } from '../../../grid-adapters/ocpp/schedule.ts';
import { assertValidOcpp } from '../../helpers/ocpp-schemas.ts';

const T0 = Date.UTC(2026, 10, 23, 12, 0);
const horizon = { startMs: T0, intervalMinutes: 15, count: 8 };

function plan(over: Partial<StationPlan> = {}): StationPlan {
  return {
    version: '2.0.1',
    stationId: 'CS1',
    horizon,
    nowMs: T0 + 60_000,
    stationCapKw: [22, 22, 22, 11, 11, 7.33333, 7.33333, 0],
    evses: [
      { evseNodeId: 'CS1-1', ocppEvseId: 1, transactionId: '42', kw: [11, 11, 11, 11, 5.5, 5.5, 3.7, 0] },
      { evseNodeId: 'CS1-2', ocppEvseId: 2, transactionId: null, kw: Array(8).fill(0) },
    ],
    ...over,
  };
}

type Period = { startPeriod: number; limit: number; numberPhases?: number };
interface Schedule {
  startSchedule: string;
  duration: number;
  chargingRateUnit: 'W' | 'A';
  chargingSchedulePeriod: Period[];
}

/** The schedule and the ids of a built message, whatever the version. */
function view(m: ProfileMessage): { target: number; id: number; stackLevel: number; purpose: string; kind: string; transactionId?: unknown; schedule: Schedule } {
  const p = m.payload as Record<string, unknown>;
  if ('chargingProfile' in p) {
    const cp = p.chargingProfile as Record<string, unknown>;
    const [schedule] = cp.chargingSchedule as (Schedule & { id: number })[];
    assert.equal(schedule!.id, cp.id, '2.0.1 schedule id follows the profile id');
    return { target: p.evseId as number, id: cp.id as number, stackLevel: cp.stackLevel as number, purpose: cp.chargingProfilePurpose as string, kind: cp.chargingProfileKind as string, transactionId: cp.transactionId, schedule: schedule! };
  }
  const cp = p.csChargingProfiles as Record<string, unknown>;
  return { target: p.connectorId as number, id: cp.chargingProfileId as number, stackLevel: cp.stackLevel as number, purpose: cp.chargingProfilePurpose as string, kind: cp.chargingProfileKind as string, transactionId: cp.transactionId, schedule: cp.chargingSchedule as Schedule };
}

describe('OCPP charging profiles from an allocation', () => {
  it('2.0.1: one ChargingStationMaxProfile on evse 0 and a TxProfile per running transaction', () => {
    const msgs = buildStationProfiles(plan());
    assert.deepEqual(msgs.map((m) => [m.action, m.slot]), [['SetChargingProfile', 'CS1/max'], ['SetChargingProfile', 'CS1/tx/1']]);
    const [max, tx] = msgs.map(view);
    assert.deepEqual([max!.target, max!.id, max!.stackLevel, max!.purpose, max!.kind], [0, STATION_MAX_PROFILE_ID, 0, 'ChargingStationMaxProfile', 'Absolute']);
    assert.equal(max!.transactionId, undefined);
    assert.deepEqual([tx!.target, tx!.id, tx!.stackLevel, tx!.purpose, tx!.kind, tx!.transactionId], [1, 101, 0, 'TxProfile', 'Absolute', '42']);
    for (const m of msgs) assertValidOcpp('2.0.1', 'SetChargingProfile', 'req', m.payload);
  });

  it('1.6: ChargePointMaxProfile on connector 0; TxProfile with an integer transactionId', () => {
    const msgs = buildStationProfiles(plan({ version: '1.6' }));
    const [max, tx] = msgs.map(view);
    assert.deepEqual([max!.target, max!.id, max!.purpose], [0, 1, 'ChargePointMaxProfile']);
    assert.deepEqual([tx!.target, tx!.id, tx!.purpose, tx!.transactionId], [1, 101, 'TxProfile', 42]);
    for (const m of msgs) assertValidOcpp('1.6', 'SetChargingProfile', 'req', m.payload);
  });

  it('keeps ids and slots stable from one plan to the next, so a new profile replaces the old one', () => {
    const a = buildStationProfiles(plan());
    const b = buildStationProfiles(plan({ stationCapKw: Array(8).fill(5), evses: [{ evseNodeId: 'CS1-1', ocppEvseId: 1, transactionId: '43', kw: Array(8).fill(5) }] }));
    assert.deepEqual(a.map((m) => [m.slot, view(m).id, view(m).stackLevel]), b.map((m) => [m.slot, view(m).id, view(m).stackLevel]));
  });

  it('anchors the schedule at the horizon start with the horizon length, in W by default', () => {
    const s = view(buildStationProfiles(plan())[0]!).schedule;
    assert.equal(s.startSchedule, '2026-11-23T12:00:00.000Z');
    assert.equal(s.duration, 8 * 900);
    assert.equal(s.chargingRateUnit, 'W');
  });

  it('merges equal consecutive intervals and rounds every limit DOWN to 0.1', () => {
    const max = view(buildStationProfiles(plan())[0]!).schedule;
    assert.deepEqual(max.chargingSchedulePeriod, [
      { startPeriod: 0, limit: 22_000 },
      { startPeriod: 2_700, limit: 11_000 },
      { startPeriod: 4_500, limit: 7_333.3 },
      { startPeriod: 6_300, limit: 0 },
    ]);
    const tx = view(buildStationProfiles(plan({ version: '1.6' }))[1]!).schedule;
    assert.deepEqual(tx.chargingSchedulePeriod.map((p) => p.limit), [11_000, 5_500, 3_700, 0]);
  });

  it('never rounds a value that is already a multiple of 0.1 a step down (floating-point noise)', () => {
    const cap = [0.1 + 0.2, 7.3, 1.1 * 3, 2.675, 1e-4, 0, 7.3, 7.3];
    const limits = view(buildStationProfiles(plan({ stationCapKw: cap, evses: [] }))[0]!).schedule.chargingSchedulePeriod.map((p) => p.limit);
    assert.deepEqual(limits, [300, 7_300, 3_300, 2_675, 0.1, 0, 7_300]);
  });

  it('converts to A per phase (A = W / (V · phases)) and sends numberPhases', () => {
    const msgs = buildStationProfiles(plan({ unit: 'A', voltageV: 230, phases: 3, stationCapKw: Array(8).fill(11), evses: [{ evseNodeId: 'e', ocppEvseId: 2, transactionId: 't', kw: Array(8).fill(4.14) }] }));
    const [max, tx] = msgs.map((m) => view(m).schedule);
    assert.equal(max!.chargingRateUnit, 'A');
    assert.deepEqual(max!.chargingSchedulePeriod, [{ startPeriod: 0, limit: 15.9, numberPhases: 3 }]); // 15.942 A
    assert.deepEqual(tx!.chargingSchedulePeriod, [{ startPeriod: 0, limit: 6, numberPhases: 3 }]);
    const single = view(buildStationProfiles(plan({ unit: 'A', phases: 1, stationCapKw: Array(8).fill(7.36), evses: [] }))[0]!).schedule;
    assert.deepEqual(single.chargingSchedulePeriod, [{ startPeriod: 0, limit: 32, numberPhases: 1 }]); // 230 V default
  });

  it('caps the number of periods by merging neighbours with the MIN, never allowing more than planned', () => {
    const cap = [10, 12, 10, 12, 10, 12, 10, 12];
    const msgs = buildStationProfiles(plan({ stationCapKw: cap, evses: [], maxPeriods: 3 }));
    const periods = view(msgs[0]!).schedule.chargingSchedulePeriod;
    assert.ok(periods.length <= 3, `${periods.length} periods`);
    for (let i = 0; i < 8; i++) assert.ok(limitAt(periods, i * 900) <= cap[i]! * 1000);
    assert.equal(periods[0]!.startPeriod, 0);
    // A single period is the minimum of everything.
    assert.deepEqual(view(buildStationProfiles(plan({ stationCapKw: cap, evses: [], maxPeriods: 1 }))[0]!).schedule.chargingSchedulePeriod, [{ startPeriod: 0, limit: 10_000 }]);
  });

  it('holds the lowest cap after the horizon when asked, with no duration, for both versions', () => {
    for (const version of ['2.0.1', '1.6'] as const) {
      const msgs = buildStationProfiles(plan({ version, holdAfterHorizonKw: 7.33333, maxPeriods: 4 }));
      const max = view(msgs[0]!);
      assert.equal(max.schedule.duration, undefined);
      const ps = max.schedule.chargingSchedulePeriod;
      assert.ok(ps.length <= 4, `${ps.length} periods`);
      assert.deepEqual(ps.at(-1), { startPeriod: 8 * 900, limit: 7333.3 });
      assertValidOcpp(version, 'SetChargingProfile', 'req', msgs[0]!.payload);
      // the TxProfile still ends with the horizon
      assert.equal(view(msgs[1]!).schedule.duration, 8 * 900);
    }
  });

  it('sends no discharge: negative (V2G) setpoints become 0', () => {
    const tx = view(buildStationProfiles(plan({ evses: [{ evseNodeId: 'e', ocppEvseId: 1, transactionId: '1', kw: [-5, -5, 3, 3, 3, 3, 3, 3] }] }))[1]!);
    assert.deepEqual(tx.schedule.chargingSchedulePeriod.map((p) => p.limit), [0, 3_000]);
  });

  it('accepts a horizon that started before now, refuses one that has ended and malformed plans', () => {
    assert.equal(buildStationProfiles(plan({ nowMs: T0 + 7 * 900_000 })).length, 2);
    assert.throws(() => buildStationProfiles(plan({ nowMs: T0 + 8 * 900_000 })), /stale/);
    assert.throws(() => buildStationProfiles(plan({ stationCapKw: [1, 2] })), /stationCapKw/);
    assert.throws(() => buildStationProfiles(plan({ evses: [{ evseNodeId: 'e', ocppEvseId: 0, transactionId: '1', kw: Array(8).fill(1) }] })), /ocppEvseId/);
    assert.throws(() => buildStationProfiles(plan({ version: '1.6', evses: [{ evseNodeId: 'e', ocppEvseId: 1, transactionId: 'abc', kw: Array(8).fill(1) }] })), /integer/);
    assert.throws(() => buildStationProfiles(plan({ stationCapKw: [NaN, 1, 1, 1, 1, 1, 1, 1] })), /finite/);
    assert.throws(() => buildStationProfiles(plan({ maxPeriods: 0 })), /maxPeriods/);
  });

  describe('for any plan (property)', () => {
    const planArb = fc
      .record({
        version: fc.constantFrom<'1.6' | '2.0.1'>('1.6', '2.0.1'),
        unit: fc.constantFrom<'W' | 'A'>('W', 'A'),
        phases: fc.constantFrom(1, 3),
        voltageV: fc.constantFrom(220, 230, 240),
        count: fc.integer({ min: 1, max: 96 }),
        maxPeriods: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
        seed: fc.array(fc.double({ min: 0, max: 150, noNaN: true }), { minLength: 96, maxLength: 96 }),
        steps: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 96, maxLength: 96 }),
      })
      .map(({ version, unit, phases, voltageV, count, maxPeriods, seed, steps }) => {
        // Piecewise-constant caps (as allocations are), with the occasional step.
        const cap: number[] = [];
        for (let i = 0; i < count; i++) cap.push(i > 0 && steps[i] !== 0 ? cap[i - 1]! : seed[i]!);
        const p: StationPlan = {
          version,
          stationId: 'S',
          horizon: { startMs: T0, intervalMinutes: 15, count },
          nowMs: T0,
          unit,
          phases,
          voltageV,
          stationCapKw: cap,
          evses: [
            { evseNodeId: 'a', ocppEvseId: 1, transactionId: '7', kw: cap.map((c) => c / 2) },
            { evseNodeId: 'b', ocppEvseId: 2, transactionId: null, kw: cap.map(() => 0) },
          ],
          ...(maxPeriods === undefined ? {} : { maxPeriods }),
        };
        return p;
      });

    it('validates against the official schema and the station max never exceeds stationCapKw', () => {
      fc.assert(
        fc.property(planArb, (p) => {
          const msgs = buildStationProfiles(p);
          assert.equal(msgs.length, 2);
          for (const m of msgs) assertValidOcpp(p.version, 'SetChargingProfile', 'req', m.payload);
          const max = view(msgs[0]!).schedule;
          const periods = max.chargingSchedulePeriod;
          assert.equal(periods[0]!.startPeriod, 0); // OCPP 2.0.1 K01.FR.31
          for (let i = 1; i < periods.length; i++) assert.ok(periods[i]!.startPeriod > periods[i - 1]!.startPeriod); // K01.FR.35
          assert.ok(periods.length <= (p.maxPeriods ?? DEFAULT_MAX_PERIODS));
          for (const per of periods) assert.ok(Number.isInteger(Math.round(per.limit * 10)) && Math.abs(per.limit * 10 - Math.round(per.limit * 10)) < 1e-6);
          for (let i = 0; i < p.horizon.count; i++) {
            const kw = unitToKw(limitAt(periods, i * 900), max.chargingRateUnit, p.voltageV!, p.phases!);
            assert.ok(kw <= p.stationCapKw[i]! + 1e-9, `interval ${i}: ${kw} kW > cap ${p.stationCapKw[i]} kW`);
            // Without a period cap, rounding loses less than one 0.1 step.
            if (p.maxPeriods === undefined && periods.length < DEFAULT_MAX_PERIODS) {
              assert.ok(p.stationCapKw[i]! - kw < unitToKw(0.1, max.chargingRateUnit, p.voltageV!, p.phases!) + 1e-9);
            }
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});
