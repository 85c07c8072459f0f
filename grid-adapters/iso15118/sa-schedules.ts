/**
 * ISO 15118 through OCPP 2.0.1 / 2.1: the answer to NotifyEVChargingNeeds as a TxProfile whose
 * chargingSchedule list becomes the EV's SAScheduleList, and the check of the schedule the EV then
 * chooses (NotifyEVChargingSchedule). Pure: no I/O, no clock (now is passed in).
 *
 * - OCPP 2.0.1 K15 / ISO 15118-2 §8.5.2.14: the station turns each ChargingSchedule of the TxProfile
 *   into one SAScheduleTuple; the EV picks one. gridflex offers, in this order, up to 3 (the schema allows
 *   3 schedules per profile):
 *     1. the plan: the EVSE's setpoints;
 *     2. the cap: what the EVSE may draw at most (its share of the grid limit), when it differs;
 *     3. a flat schedule at the lowest planned value (the cautious choice).
 *   Each schedule holds at most `maxPeriods` periods (≤ 1024, the schema's and ISO 15118-2's limit for
 *   PMaxSchedule entries), merged keeping the lower limit (schedule.ts capPeriods).
 * - maxScheduleTuples (NotifyEVChargingNeeds) is ISO 15118-2 MaxEntriesSAScheduleTuple: the most entries
 *   the EV takes in ONE tuple, PMax entries and SalesTariff entries together (2.1: "the maximum elements
 *   the EV supports for: ISO 15118-2: schedule tuples in SASchedule (both Pmax and Tariff)"). When given
 *   (> 0), every schedule keeps periods + tariff entries within it: the tariff gets at most half of it
 *   (none when it is 1: the limits come first), the periods the rest.
 * - salesTariff (optional): per-interval prices → the OCPP 2.0.1 / 2.1 SalesTariffType (from ISO 15118-2
 *   SalesTariff), currency-free: only relative price levels, no consumptionCost. ePriceLevel = rank of
 *   the price, 0 = cheapest ("Small values for the EPriceLevel represent a cheaper TariffEntry"), at most
 *   255 levels (ISO 15118-2 NumEPriceLevels / EPriceLevel are unsignedByte: more distinct prices are
 *   bucketed evenly); numEPriceLevels = levels used; equal neighbours merged; relativeTimeInterval.start
 *   in seconds from the schedule start, as the periods' startPeriod, each entry ending where the next
 *   starts and the last one carrying the duration up to the schedule's end; at most 1024 entries (schema
 *   maxItems, ISO 15118-2 SalesTariffEntry maxOccurs); id in 1..255 (ISO 15118-2 SAIDType). Unknown
 *   (null) prices count as the mean of the known ones, as the optimizer reads them; no known price = no
 *   salesTariff. A salesTariff is an ISO 15118-2 element ("An ISO 15118-2 session can only provide a
 *   salesTariff", 2.1 ChargingScheduleType), so it is only added to these 15118-2 schedule lists.
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
  /** From NotifyEVChargingNeeds: entries (periods + tariff entries) per schedule the EV takes; 0 / absent = no limit. */
  maxScheduleTuples?: number;
  unit?: RateUnit;
  voltageV?: number;
  phases?: number;
  /** Periods per schedule; default and maximum 1024. */
  maxPeriods?: number;
  /** Price per interval (any currency per kWh; null = unknown); adds a salesTariff to every schedule. */
  prices?: (number | null)[];
}

/** SetChargingProfile.req payload: a TxProfile with 1–3 schedules for the EV to choose from. */
export function buildSaScheduleProfile(i: SaScheduleInput): object {
  const n = i.horizon.count;
  for (const [name, arr] of [['kw', i.kw], ['capKw', i.capKw], ['prices', i.prices]] as const) {
    if (arr && arr.length !== n) throw new RangeError(`${name} has ${arr.length} values, horizon has ${n}`);
  }
  const unit = i.unit ?? 'W';
  const entries = i.maxScheduleTuples !== undefined && i.maxScheduleTuples > 0 ? i.maxScheduleTuples : Infinity;
  const intervalS = i.horizon.intervalMinutes * 60;
  const duration = n * intervalS;
  const toLimit = (kw: number) => floorTenth(kwToUnit(kw, unit, i.voltageV ?? DEFAULT_VOLTAGE_V, i.phases ?? DEFAULT_PHASES));
  const candidates: number[][] = [i.kw];
  if (i.capKw && i.capKw.some((c, t) => toLimit(c) !== toLimit(i.kw[t]!))) candidates.push(i.capKw);
  const lowest = Math.min(...i.kw.map((v) => Math.max(0, v)));
  if (i.kw.some((v) => toLimit(v) !== toLimit(lowest))) candidates.push(Array<number>(n).fill(lowest));
  const id = txProfileId(i.ocppEvseId);
  const tariff = i.prices && entries >= 2 ? salesTariff(i.prices, intervalS, id, Math.min(MAX_PERIODS_15118, Math.floor(entries / 2))) : undefined;
  const tariffEntries = tariff ? (tariff as { salesTariffEntry: unknown[] }).salesTariffEntry.length : 0;
  const maxPeriods = Math.max(1, Math.min(MAX_PERIODS_15118, i.maxPeriods ?? MAX_PERIODS_15118, entries - tariffEntries));
  const schedules = candidates.slice(0, MAX_SCHEDULES_PER_PROFILE).map((kw, k) => ({
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

/** ISO 15118-2 NumEPriceLevels / EPriceLevel are unsignedByte. */
export const MAX_PRICE_LEVELS = 255;

/**
 * SalesTariffType for per-interval prices (see the file comment); undefined when no price is known. Beyond
 * `maxEntries` (≤ 1024), the neighbours whose levels differ least merge, keeping the higher (dearer) level:
 * the EV is never told an interval is cheaper than it is.
 */
export function salesTariff(prices: (number | null)[], intervalS: number, id: number, maxEntries = MAX_PERIODS_15118): object | undefined {
  const known = prices.filter((p): p is number => typeof p === 'number' && Number.isFinite(p));
  if (known.length === 0) return undefined;
  const mean = known.reduce((a, b) => a + b, 0) / known.length;
  const filled = prices.map((p) => (typeof p === 'number' && Number.isFinite(p) ? p : mean));
  const distinct = [...new Set(filled)].sort((a, b) => a - b);
  const rank = new Map(distinct.map((p, k) => [p, distinct.length <= MAX_PRICE_LEVELS ? k : Math.floor((k * MAX_PRICE_LEVELS) / distinct.length)]));
  const entries: { relativeTimeInterval: { start: number; duration?: number }; ePriceLevel: number }[] = [];
  filled.forEach((p, t) => {
    const level = rank.get(p)!;
    if (entries[entries.length - 1]?.ePriceLevel === level) return;
    entries.push({ relativeTimeInterval: { start: t * intervalS }, ePriceLevel: level });
  });
  const cap = Math.max(1, Math.min(MAX_PERIODS_15118, maxEntries));
  while (entries.length > cap) {
    let best = 0;
    for (let k = 1; k + 1 < entries.length; k++) {
      if (Math.abs(entries[k]!.ePriceLevel - entries[k + 1]!.ePriceLevel) < Math.abs(entries[best]!.ePriceLevel - entries[best + 1]!.ePriceLevel)) best = k;
    }
    const [a, b] = [entries[best]!, entries[best + 1]!];
    entries.splice(best, 2, { relativeTimeInterval: { start: a.relativeTimeInterval.start }, ePriceLevel: Math.max(a.ePriceLevel, b.ePriceLevel) });
    for (let k = entries.length - 1; k > 0; k--) if (entries[k]!.ePriceLevel === entries[k - 1]!.ePriceLevel) entries.splice(k, 1);
  }
  const last = entries[entries.length - 1]!;
  last.relativeTimeInterval.duration = filled.length * intervalS - last.relativeTimeInterval.start;
  // Levels 0..numEPriceLevels−1 without gaps (bucketing and merging may have left some unused), order kept.
  const used = [...new Set(entries.map((e) => e.ePriceLevel))].sort((a, b) => a - b);
  for (const e of entries) e.ePriceLevel = used.indexOf(e.ePriceLevel);
  return { id: ((id - 1) % 255) + 1, numEPriceLevels: used.length, salesTariffEntry: entries };
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
