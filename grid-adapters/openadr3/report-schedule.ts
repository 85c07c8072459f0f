import type { ExpandedInterval } from './intervals.ts';

/**
 * When a VEN owes a report, and on which event intervals, from an event's reportDescriptors. Pure:
 * the expanded intervals and the horizon are passed in.
 *
 * Semantics (Definitions, reportDescriptor; User Guide 7.5 "reportDescriptor", with its examples):
 * - startInterval (default -1): the interval (0-based) "on which to generate a report"; -1 = the end
 *   of the last interval. For a forecast (historical = false) -1 is the start of the first interval
 *   (User Guide 7.5 "Forecast reporting": one report before the intervals, covering all of them).
 * - numIntervals (default -1): how many intervals a report covers; -1 = all of them (with looping
 *   intervals: one loop, User Guide 7.5 "Looping intervals").
 * - historical (default true): a report covers the numIntervals intervals ending with the anchor
 *   interval and is due at the anchor's end; false: those starting at the anchor, due at its start
 *   (a forecast must arrive before the intervals it forecasts).
 * - frequency (default -1): intervals between two reports; -1 = numIntervals (Definitions), i.e. one
 *   loop when intervals loop ("report when all intervals have transpired"). 0 = ad hoc ("at any time
 *   it chooses"): gridflex sends one report, at the time frequency -1 would.
 * - repeat (default 1): number of reports; -1 = until the intervals run out (looping events: up to
 *   `untilMs`). Values below 1 other than -1 mean one report.
 * Worked examples (User Guide 7.5 "periodic reporting"): startInterval 1, numIntervals 2,
 * frequency 2, repeat 3 → reports on [0,1] at end of 1, [2,3] at end of 3, [4,5] at end of 5.
 * "Rolling reporting": 0, 3, 1, 3, historical false → [0,1,2] at start of 0, [1,2,3] at start of 1,
 * [2,3,4] at start of 2.
 * A report-only event without intervals (User Guide 7.5) but with an event intervalPeriod (start and
 * duration) reports on consecutive periods of that duration, ids 0, 1, …: the caller synthesises
 * those intervals (reportOnlyIntervals).
 */

export interface ScheduledReport {
  /** Index of the event's intervals (expanded, loops included) of the first and last covered interval. */
  first: number;
  last: number;
  /** When the report is due (epoch ms). */
  dueMs: number;
  historical: boolean;
  aggregate: boolean;
  /** Reports number 0, 1, … of this descriptor. */
  seq: number;
}

export interface ScheduleOptions {
  /** Intervals per loop (the event's own interval count); defaults to all expanded intervals. */
  loopLength?: number;
  /** Reports due after this are not listed (they are listed again by a later call). */
  untilMs: number;
  /** Safety cap on the number of reports per descriptor. */
  maxReports?: number;
}

/** The timing fields of a reportDescriptor (all optional, defaults per the document). */
export interface ReportTiming {
  startInterval?: number | undefined;
  numIntervals?: number | undefined;
  historical?: boolean | undefined;
  frequency?: number | undefined;
  repeat?: number | undefined;
  aggregate?: boolean | undefined;
}

export function reportSchedule(d: ReportTiming, intervals: readonly Pick<ExpandedInterval, 'startMs' | 'endMs'>[], o: ScheduleOptions): ScheduledReport[] {
  const n = intervals.length;
  if (n === 0) return [];
  const historical = d.historical ?? true;
  const aggregate = d.aggregate ?? false;
  const loop = Math.max(1, Math.min(o.loopLength ?? n, n));
  const num = d.numIntervals === undefined || d.numIntervals < 1 ? loop : d.numIntervals;
  const start = d.startInterval === undefined || d.startInterval < 0 ? (historical ? loop - 1 : 0) : d.startInterval;
  const freq = d.frequency === undefined || d.frequency < 1 ? num : d.frequency;
  const adHoc = d.frequency === 0;
  const repeat = adHoc ? 1 : d.repeat === -1 ? Infinity : Math.max(1, d.repeat ?? 1);
  const max = o.maxReports ?? 1000;
  const out: ScheduledReport[] = [];
  for (let k = 0; k < repeat && out.length < max; k++) {
    const anchor = start + k * freq;
    if (anchor >= n) break;
    const first = historical ? Math.max(0, anchor - num + 1) : anchor;
    const last = historical ? anchor : Math.min(n - 1, anchor + num - 1);
    const dueMs = historical ? intervals[anchor]!.endMs : intervals[anchor]!.startMs;
    if (!Number.isFinite(dueMs) || dueMs > o.untilMs) break;
    out.push({ first, last, dueMs, historical, aggregate, seq: k });
  }
  return out;
}

/**
 * Intervals of a report-only event (no intervals, User Guide 7.5): consecutive periods of the event's
 * intervalPeriod duration from its start, ids 0, 1, …, up to `untilMs` (at most `max`).
 */
export function reportOnlyIntervals(startMs: number, durationMs: number, untilMs: number, max = 1000): { id: number; startMs: number; endMs: number }[] {
  if (!Number.isFinite(startMs) || !Number.isFinite(durationMs) || durationMs <= 0) return [];
  const out: { id: number; startMs: number; endMs: number }[] = [];
  for (let k = 0; k < max && startMs + k * durationMs < untilMs; k++) out.push({ id: k, startMs: startMs + k * durationMs, endMs: startMs + (k + 1) * durationMs });
  return out;
}

/** Report payload types gridflex computes from measurements (report-payloads enumeration, Definitions). */
export const MEASURED_REPORT_TYPES: ReadonlySet<string> = new Set(['USAGE', 'DEMAND', 'BASELINE', 'DELTA_USAGE']);

export type EnergyUnit = 'KWH' | 'WH' | 'MWH';
export type PowerUnit = 'KW' | 'W' | 'MW';

/** Whether a report payload is an energy (USAGE, DELTA_USAGE; BASELINE when energy units are asked) or a power. */
export function reportQuantity(payloadType: string, units: string | null | undefined): 'energy' | 'power' {
  if (payloadType === 'USAGE' || payloadType === 'DELTA_USAGE') return 'energy';
  if (payloadType === 'DEMAND') return 'power';
  return units && /WH$/i.test(units) ? 'energy' : 'power';
}

/** Units gridflex reports in: the descriptor's when it names one of the right quantity, else kWh / kW. */
export function reportUnits(payloadType: string, units: string | null | undefined): EnergyUnit | PowerUnit {
  const u = (units ?? '').toUpperCase();
  if (reportQuantity(payloadType, units) === 'energy') return u === 'WH' || u === 'MWH' ? u : 'KWH';
  return u === 'W' || u === 'MW' ? u : 'KW';
}

/** kW or kWh into the reported unit. */
export function convertFromKilo(value: number, unit: EnergyUnit | PowerUnit): number {
  if (unit === 'W' || unit === 'WH') return value * 1000;
  if (unit === 'MW' || unit === 'MWH') return value / 1000;
  return value;
}

/**
 * One report payload value from the mean measured power (kW) over a window of `hours` and the
 * baseline power of that window (kW; null when unknown). USAGE: energy drawn (kWh = mean kW × h);
 * DEMAND: the mean power; BASELINE: the baseline (energy or power per units); DELTA_USAGE: usage minus
 * baseline (negative = flexibility delivered, Definitions report payloads "Change in usage as
 * compared to a baseline"). null when the inputs are missing.
 */
export function reportValue(payloadType: string, units: string | null | undefined, meanKw: number | null, baselineKw: number | null, hours: number): number | null {
  const unit = reportUnits(payloadType, units);
  const energy = reportQuantity(payloadType, units) === 'energy';
  const scale = (kw: number) => convertFromKilo(energy ? kw * hours : kw, unit);
  switch (payloadType) {
    case 'USAGE':
    case 'DEMAND':
      return meanKw === null ? null : scale(meanKw);
    case 'BASELINE':
      return baselineKw === null ? null : scale(baselineKw);
    case 'DELTA_USAGE':
      return meanKw === null || baselineKw === null ? null : scale(meanKw - baselineKw);
    default:
      return null;
  }
}
