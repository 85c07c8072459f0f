/**
 * Schedule arithmetic for OCPP charging profiles: per-interval kW values → chargingSchedulePeriod lists.
 *
 * Pure: no I/O, no clock. Units: inputs in kW (canonical model, positive = import); outputs in the
 * profile's chargingRateUnit (W, or A per phase).
 */

export type RateUnit = 'W' | 'A';

/** Nominal phase-to-neutral voltage used for A conversion when the topology does not give one. */
export const DEFAULT_VOLTAGE_V = 230;
/** Phases assumed for A conversion when the topology does not give them (OCPP: 3 unless told otherwise). */
export const DEFAULT_PHASES = 3;

export interface SchedulePeriod {
  /** Seconds from the start of the schedule. */
  startPeriod: number;
  /** Limit in the schedule's unit, a multiple of 0.1. */
  limit: number;
}

/**
 * Rounds DOWN to one decimal. OCPP 1.6 `limit` has `multipleOf: 0.1` and OCPP 2.0.1 "accepts at most
 * one digit fraction"; rounding down (never up) keeps the sent limit within the grid limit it encodes.
 * The tiny epsilon only absorbs binary floating-point noise (7.3 * 10 = 72.99999999999999), so a value
 * that is already a multiple of 0.1 is not pushed a whole step down.
 */
export function floorTenth(x: number): number {
  const v = Math.floor(x * 10 + 1e-9) / 10;
  // Normalise -0 and keep the decimal representation short (e.g. 7300.1, not 7300.100000000002).
  return Number((v === 0 ? 0 : v).toFixed(1));
}

/** Converts kW to the profile unit: W, or A per phase (A = W / (V · phases)). Negative (export) → 0. */
export function kwToUnit(kw: number, unit: RateUnit, voltageV: number, phases: number): number {
  if (!Number.isFinite(kw)) throw new RangeError(`limit must be a finite number of kW, got ${kw}`);
  // OCPP 1.6 and 2.0.1 limits cannot express discharging (that needs 2.1 / ISO 15118-20): clamp at 0.
  const w = Math.max(0, kw) * 1000;
  return unit === 'W' ? w : w / (voltageV * phases);
}

/** Converts a limit back to kW (used by tests and by callers checking what a profile allows). */
export function unitToKw(limit: number, unit: RateUnit, voltageV: number, phases: number): number {
  return unit === 'W' ? limit / 1000 : (limit * voltageV * phases) / 1000;
}

/**
 * One period per interval, then consecutive periods with equal limits merged. The first period starts
 * at 0 (OCPP 2.0.1 K01.FR.31) and start periods strictly increase (OCPP 2.0.1 K01.FR.35); OCPP 1.6
 * chargers expect the same (ChargingSchedulePeriod.startPeriod: seconds from the schedule start, and it
 * also ends the previous period).
 */
export function toPeriods(limits: number[], intervalSeconds: number): SchedulePeriod[] {
  const out: SchedulePeriod[] = [];
  limits.forEach((limit, i) => {
    const last = out[out.length - 1];
    if (last && last.limit === limit) return;
    out.push({ startPeriod: i * intervalSeconds, limit });
  });
  return out;
}

/**
 * Caps the number of periods (chargers advertise a maximum: 1.6 ChargingScheduleMaxPeriods, 2.0.1
 * SmartChargingCtrlr.PeriodsPerSchedule). Adjacent periods are merged keeping the MIN of the two limits,
 * so the capped schedule never allows more than the original in any second. Each step merges the pair
 * that gives up the least energy; ties go to the later pair, because later periods are re-planned
 * before they run and near-term detail matters most.
 */
export function capPeriods(periods: SchedulePeriod[], maxPeriods: number, totalSeconds: number): SchedulePeriod[] {
  if (!Number.isInteger(maxPeriods) || maxPeriods < 1) throw new RangeError(`maxPeriods must be a positive integer, got ${maxPeriods}`);
  let ps = periods.map((p) => ({ ...p }));
  while (ps.length > maxPeriods) {
    let best = -1;
    let bestCost = Infinity;
    for (let i = 0; i + 1 < ps.length; i++) {
      const a = ps[i]!;
      const b = ps[i + 1]!;
      const end = i + 2 < ps.length ? ps[i + 2]!.startPeriod : totalSeconds;
      const m = Math.min(a.limit, b.limit);
      const cost = (a.limit - m) * (b.startPeriod - a.startPeriod) + (b.limit - m) * (end - b.startPeriod);
      if (cost <= bestCost) {
        bestCost = cost;
        best = i;
      }
    }
    const a = ps[best]!;
    const b = ps[best + 1]!;
    ps.splice(best, 2, { startPeriod: a.startPeriod, limit: Math.min(a.limit, b.limit) });
    ps = mergeEqual(ps);
  }
  return ps;
}

function mergeEqual(ps: SchedulePeriod[]): SchedulePeriod[] {
  const out: SchedulePeriod[] = [];
  for (const p of ps) {
    const last = out[out.length - 1];
    if (last && last.limit === p.limit) continue;
    out.push(p);
  }
  return out;
}

/** The limit in force at `second` of a schedule (used by tests to compare against the plan). */
export function limitAt(periods: SchedulePeriod[], second: number): number {
  let limit = NaN;
  for (const p of periods) {
    if (p.startPeriod <= second) limit = p.limit;
    else break;
  }
  return limit;
}
