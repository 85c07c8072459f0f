/**
 * Closed loop, pure part: does the schedule a station reports (GetCompositeSchedule) stay within the
 * profile gridflex sent? And does a measured power stay within the setpoint?
 *
 * A station may always charge LESS than allowed (its own hardware limit, the EV, a lower local limit):
 * only an excess counts as a deviation. Units: the comparison runs in kW; A limits are converted with
 * the station's voltage and phases.
 */
import { limitAt, unitToKw, DEFAULT_PHASES, DEFAULT_VOLTAGE_V, type RateUnit, type SchedulePeriod } from './schedule.ts';

export interface TimedSchedule {
  /** Epoch ms at which startPeriod 0 begins. */
  startMs: number;
  /** Seconds; undefined = the last period holds on. */
  durationS?: number;
  unit: RateUnit;
  periods: SchedulePeriod[];
}

export interface CompareOptions {
  voltageV?: number;
  phases?: number;
  /** Excess (kW) tolerated before a deviation is reported. */
  toleranceKw: number;
}

export interface ScheduleComparison {
  ok: boolean;
  /** Largest excess of the reported schedule over the sent one (kW, >= 0). */
  maxExcessKw: number;
  /** Epoch ms where the largest excess starts (undefined when ok with no excess). */
  atMs?: number;
}

function limitKwAt(s: TimedSchedule, ms: number, o: CompareOptions): number | undefined {
  if (ms < s.startMs) return undefined;
  const second = Math.floor((ms - s.startMs) / 1000);
  if (s.durationS !== undefined && second >= s.durationS) return undefined;
  const l = limitAt(s.periods, second);
  return Number.isNaN(l) ? undefined : unitToKw(l, s.unit, o.voltageV ?? DEFAULT_VOLTAGE_V, o.phases ?? DEFAULT_PHASES);
}

/**
 * Compares the reported composite schedule with the sent schedule over the time both cover, checking
 * at every period boundary of either schedule (limits are step functions, so that is exhaustive).
 */
export function compareSchedules(sent: TimedSchedule, reported: TimedSchedule, o: CompareOptions): ScheduleComparison {
  const points = new Set<number>();
  for (const s of [sent, reported]) for (const p of s.periods) points.add(s.startMs + p.startPeriod * 1000);
  points.add(reported.startMs);
  let maxExcessKw = 0;
  let atMs: number | undefined;
  for (const ms of [...points].sort((a, b) => a - b)) {
    const a = limitKwAt(sent, ms, o);
    const b = limitKwAt(reported, ms, o);
    if (a === undefined || b === undefined) continue;
    const excess = b - a;
    if (excess > maxExcessKw + 1e-9) {
      maxExcessKw = excess;
      atMs = ms;
    }
  }
  maxExcessKw = Math.round(maxExcessKw * 1000) / 1000;
  return { ok: maxExcessKw <= o.toleranceKw, maxExcessKw, ...(atMs === undefined ? {} : { atMs }) };
}

/**
 * A measured (net, signed) power against the setpoint in force: excess beyond the tolerance is a
 * deviation. The allowed band is [0, setpoint] when charging and [setpoint, 0] when discharging (OCPP 2.1
 * CentralSetpoint, negative = discharging): drawing or discharging less than planned is allowed (the EV,
 * its V2X minimum SoC or the station may limit it), going past the cap in either direction is not —
 * importing while told to discharge, or discharging more than the setpoint (or while told to charge).
 */
export function compareMeasurement(measuredKw: number, setpointKw: number, toleranceKw: number): { ok: boolean; excessKw: number } {
  const over = Math.max(0, measuredKw - Math.max(0, setpointKw), Math.min(0, setpointKw) - measuredKw);
  const excessKw = Math.round(over * 1000) / 1000;
  return { ok: excessKw <= toleranceKw, excessKw };
}

/** Reads a SetChargingProfile.req (any version) back into the schedule it sets, with its target. */
export function sentSchedule(payload: unknown): { evseId: number; purpose: string; schedule: TimedSchedule } | undefined {
  const p = payload as {
    evseId?: number;
    connectorId?: number;
    chargingProfile?: { chargingProfilePurpose: string; chargingSchedule: RawSchedule[] };
    csChargingProfiles?: { chargingProfilePurpose: string; chargingSchedule: RawSchedule };
  };
  const profile = p.chargingProfile ?? p.csChargingProfiles;
  const raw = p.chargingProfile ? p.chargingProfile.chargingSchedule[0] : p.csChargingProfiles?.chargingSchedule;
  const evseId = p.evseId ?? p.connectorId;
  if (!profile || !raw || evseId === undefined || !raw.startSchedule) return undefined;
  return { evseId, purpose: profile.chargingProfilePurpose, schedule: toTimed(raw, Date.parse(raw.startSchedule)) };
}

interface RawSchedule {
  startSchedule?: string;
  duration?: number;
  chargingRateUnit: RateUnit;
  chargingSchedulePeriod: { startPeriod: number; limit?: number }[];
}

function toTimed(raw: RawSchedule, startMs: number): TimedSchedule {
  return {
    startMs,
    ...(raw.duration === undefined ? {} : { durationS: raw.duration }),
    unit: raw.chargingRateUnit,
    // 2.1 periods may omit limit (setpoint-only modes); treat that as "no limit" = not comparable.
    periods: raw.chargingSchedulePeriod.filter((x) => x.limit !== undefined).map((x) => ({ startPeriod: x.startPeriod, limit: x.limit! })),
  };
}

/** Reads a GetCompositeSchedule.conf (1.6: scheduleStart + chargingSchedule; 2.x: schedule). */
export function reportedSchedule(conf: unknown): TimedSchedule | undefined {
  const c = conf as {
    status?: string;
    scheduleStart?: string;
    chargingSchedule?: RawSchedule;
    schedule?: { scheduleStart: string; duration: number; chargingRateUnit: RateUnit; chargingSchedulePeriod: { startPeriod: number; limit?: number }[] };
  };
  if (c.status !== 'Accepted') return undefined;
  if (c.schedule) return toTimed(c.schedule, Date.parse(c.schedule.scheduleStart));
  if (c.chargingSchedule) {
    const start = c.chargingSchedule.startSchedule ?? c.scheduleStart;
    if (!start) return undefined;
    return toTimed(c.chargingSchedule, Date.parse(start));
  }
  return undefined;
}
