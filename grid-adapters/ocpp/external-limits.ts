/**
 * External charging limits a station reports (OCPP 2.0.1 / 2.1 NotifyChargingLimit, use cases K12 and
 * K14; withdrawn by ClearedChargingLimit, K13) turned into import caps per horizon interval. Pure.
 *
 * Choices (docs/ocpp.md "External charging limits"):
 * - a schedule without `startSchedule` starts when the station reported it;
 * - a schedule with `duration` ends there; without one its last period lasts indefinitely;
 * - an interval gets the LOWEST limit of every period overlapping it, of every reported schedule (a cap
 *   from the grid is never under-read, even when it changes inside an interval);
 * - `A` limits are converted with the period's `numberPhases` (else the station's phases) and voltage;
 * - 2.1 periods without `limit` (setpoint-only) do not cap; negative limits cap at 0 kW import.
 */
import type { Horizon } from '../../optimizer/model.ts';
import { DEFAULT_PHASES, DEFAULT_VOLTAGE_V, unitToKw, type RateUnit } from './schedule.ts';

export interface ReportedSchedulePeriod {
  startPeriod: number;
  limit?: number;
  numberPhases?: number;
}

export interface ReportedSchedule {
  startSchedule?: string;
  duration?: number;
  chargingRateUnit: RateUnit;
  chargingSchedulePeriod: ReportedSchedulePeriod[];
}

export interface LimitContext {
  /** When the station reported the limit (epoch ms): the start of a schedule without startSchedule. */
  reportedMs: number;
  voltageV?: number | null;
  phases?: number | null;
}

/** kW cap per horizon interval (`null` = this limit does not constrain that interval). */
export function externalLimitKw(schedules: readonly ReportedSchedule[], horizon: Horizon, ctx: LimitContext): (number | null)[] {
  const stepMs = horizon.intervalMinutes * 60_000;
  const out: (number | null)[] = Array.from({ length: horizon.count }, () => null);
  const voltage = ctx.voltageV ?? DEFAULT_VOLTAGE_V;
  for (const s of schedules) {
    const parsed = s.startSchedule === undefined ? NaN : Date.parse(s.startSchedule);
    const startMs = Number.isFinite(parsed) ? parsed : ctx.reportedMs;
    const endMs = s.duration === undefined ? Infinity : startMs + s.duration * 1000;
    const periods = [...s.chargingSchedulePeriod].sort((a, b) => a.startPeriod - b.startPeriod);
    periods.forEach((p, i) => {
      if (p.limit === undefined) return;
      const from = startMs + p.startPeriod * 1000;
      const next = periods[i + 1];
      const to = Math.min(endMs, next ? startMs + next.startPeriod * 1000 : Infinity);
      if (to <= from) return;
      const kw = Math.max(0, unitToKw(p.limit, s.chargingRateUnit, voltage, p.numberPhases ?? ctx.phases ?? DEFAULT_PHASES));
      for (let t = 0; t < horizon.count; t++) {
        const a = horizon.startMs + t * stepMs;
        if (a + stepMs <= from || a >= to) continue;
        const cur = out[t];
        out[t] = cur === null || cur === undefined ? kw : Math.min(cur, kw);
      }
    });
  }
  return out;
}
