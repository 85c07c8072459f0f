/**
 * ISO 15118 through OCPP 2.0.1 / 2.1: the answer to NotifyEVChargingNeeds as a TxProfile whose
 * chargingSchedule list becomes the EV's SAScheduleList, and the check of the schedule the EV then
 * chooses (NotifyEVChargingSchedule). Pure: no I/O, no clock (now is passed in).
 *
 * - OCPP 2.0.1 K15 / ISO 15118-2 §8.5.2.14: the station turns each ChargingSchedule of the TxProfile
 *   into one SAScheduleTuple; the EV picks one. gridflex offers, in this order and up to
 *   min(maxScheduleTuples, 3) (the 2.0.1 schema allows 3 schedules per profile):
 *     1. the plan: the EVSE's setpoints;
 *     2. the cap: what the EVSE may draw at most (its share of the grid limit), when it differs;
 *     3. a flat schedule at the lowest planned value (the cautious choice).
 *   Each schedule holds at most `maxPeriods` periods (≤ 1024, the schema's and ISO 15118-2's limit for
 *   PMaxSchedule entries), merged keeping the lower limit (schedule.ts capPeriods).
 * - salesTariff (optional): per-interval prices → SalesTariffEntry with ePriceLevel = rank of the price
 *   (0 = cheapest), relativeTimeInterval.start in seconds from the schedule start; ≤ 1024 entries.
 * - Sign convention: kW, import positive. A negative (export) setpoint is sent as 0: a 2.0.1 TxProfile
 *   cannot ask for discharging (2.1 V2X is not built here).
 * - K17 (NotifyEVChargingSchedule): the EV's schedule must stay within the limits sent; `checkEvSchedule`
 *   compares it at every period boundary, in kW.
 */
import { compareSchedules, type ScheduleComparison, type TimedSchedule } from '../ocpp/composite.ts';
import { capPeriods, DEFAULT_PHASES, DEFAULT_VOLTAGE_V, floorTenth, kwToUnit, toPeriods, type RateUnit } from '../ocpp/schedule.ts';
import { txProfileId, txProfileRequest2x } from '../ocpp/profiles.ts';
import type { Horizon } from '../../optimizer/model.ts';

export const MAX_SCHEDULES_PER_PROFILE = 3;
export const MAX_PERIODS_15118 = 1024;

export interface SaScheduleInput {
  version: '2.0.1' | '2.1';
  ocppEvseId: number;
  transactionId: string;
  horizon: Horizon;
  /** Setpoint per interval (kW). */
  kw: number[];
  /** Cap per interval (kW); offered as a second schedule when it differs from kw. */
  capKw?: number[];
  /** From NotifyEVChargingNeeds; default 3 (the most a 2.0.1 profile carries). */
  maxScheduleTuples?: number;
  unit?: RateUnit;
  voltageV?: number;
  phases?: number;
  /** Periods per schedule; default and maximum 1024. */
  maxPeriods?: number;
  /** Price per interval (any currency per kWh); adds a salesTariff to every schedule. */
  prices?: number[];
}

/** SetChargingProfile.req payload: a TxProfile with 1–3 schedules for the EV to choose from. */
export function buildSaScheduleProfile(i: SaScheduleInput): object {
  const n = i.horizon.count;
  for (const [name, arr] of [['kw', i.kw], ['capKw', i.capKw], ['prices', i.prices]] as const) {
    if (arr && arr.length !== n) throw new RangeError(`${name} has ${arr.length} values, horizon has ${n}`);
  }
  const tuples = Math.max(1, Math.min(MAX_SCHEDULES_PER_PROFILE, i.maxScheduleTuples ?? MAX_SCHEDULES_PER_PROFILE));
  const unit = i.unit ?? 'W';
  const maxPeriods = Math.min(MAX_PERIODS_15118, i.maxPeriods ?? MAX_PERIODS_15118);
  const intervalS = i.horizon.intervalMinutes * 60;
  const duration = n * intervalS;
  const toLimit = (kw: number) => floorTenth(kwToUnit(kw, unit, i.voltageV ?? DEFAULT_VOLTAGE_V, i.phases ?? DEFAULT_PHASES));
  const candidates: number[][] = [i.kw];
  if (i.capKw && i.capKw.some((c, t) => toLimit(c) !== toLimit(i.kw[t]!))) candidates.push(i.capKw);
  const lowest = Math.min(...i.kw.map((v) => Math.max(0, v)));
  if (i.kw.some((v) => toLimit(v) !== toLimit(lowest))) candidates.push(Array<number>(n).fill(lowest));
  const id = txProfileId(i.ocppEvseId);
  const tariff = i.prices ? salesTariff(i.prices, intervalS, id) : undefined;
  const schedules = candidates.slice(0, tuples).map((kw, k) => ({
    // Distinct per schedule: ISO 15118-2 SAScheduleTupleID (1..255) is derived from it by the station.
    id: id * 10 + k + 1,
    startSchedule: new Date(i.horizon.startMs).toISOString(),
    duration,
    chargingRateUnit: unit,
    chargingSchedulePeriod: capPeriods(toPeriods(kw.map(toLimit), intervalS), maxPeriods, duration).map((p) => (i.phases === undefined ? p : { ...p, numberPhases: i.phases })),
    ...(tariff ? { salesTariff: tariff } : {}),
  }));
  return txProfileRequest2x({ ocppEvseId: i.ocppEvseId, transactionId: i.transactionId, schedules });
}

function salesTariff(prices: number[], intervalS: number, id: number): object {
  const levels = [...new Set(prices)].sort((a, b) => a - b);
  const entries: { relativeTimeInterval: { start: number; duration?: number }; ePriceLevel: number }[] = [];
  prices.forEach((p, t) => {
    const level = levels.indexOf(p);
    const last = entries[entries.length - 1];
    if (last && last.ePriceLevel === level) {
      last.relativeTimeInterval.duration = (last.relativeTimeInterval.duration ?? 0) + intervalS;
      return;
    }
    entries.push({ relativeTimeInterval: { start: t * intervalS, duration: intervalS }, ePriceLevel: level });
  });
  return { id, numEPriceLevels: levels.length, salesTariffEntry: entries.slice(0, MAX_PERIODS_15118) };
}

export interface EvSchedule {
  timeBase: string;
  chargingSchedule: { startSchedule?: string; duration?: number; chargingRateUnit: RateUnit; chargingSchedulePeriod: { startPeriod: number; limit?: number }[] };
}

/**
 * K17: is the schedule the EV chose within the limits sent (`limits`, e.g. from sentSchedule of the last
 * TxProfile)? The EV's periods start at startSchedule, else at timeBase.
 */
export function checkEvSchedule(ev: EvSchedule, limits: TimedSchedule, o: { toleranceKw: number; voltageV?: number; phases?: number }): ScheduleComparison {
  const cs = ev.chargingSchedule;
  const evTimed: TimedSchedule = {
    startMs: Date.parse(cs.startSchedule ?? ev.timeBase),
    ...(cs.duration === undefined ? {} : { durationS: cs.duration }),
    unit: cs.chargingRateUnit,
    periods: cs.chargingSchedulePeriod.filter((p) => p.limit !== undefined).map((p) => ({ startPeriod: p.startPeriod, limit: p.limit! })),
  };
  return compareSchedules(limits, evTimed, o);
}
