import { addDuration, durationMs, parseDuration } from './duration.ts';
import type { EventRequest, IntervalPeriod, ValuesMap } from './schemas.ts';

/**
 * Absolute timing of an event's intervals, after the OpenADR 3.1.0 User Guide, 7.3 "Event and
 * Interval Timing" and 7.4 "Variable duration intervals". Pure: "now" is passed in.
 *
 * Rules (quoted sections of the User Guide):
 * - 7.3 intervalPeriod: `event.intervalPeriod` gives defaults for every interval; an interval's own
 *   intervalPeriod takes precedence, field by field.
 * - 7.3 intervalPeriod.start: '0001-01-01' / '0001-01-01T00:00:00' is "the beginning of time": on the
 *   event it is literal (so with P9999Y it is a 'do it now' event, active from any moment on); on the
 *   first interval it means the event's start if the event has one, else 'do it now' (= `nowMs`); on a
 *   later interval, and when a later interval has no start, the interval follows the previous one.
 *   A first interval with no start and no event start is also 'do it now'.
 * - 7.3 intervalPeriod.duration: "P9999Y" is infinity. A missing duration is PT0S (schema default).
 * - 7.3 event.duration: limits or extends the event's span from the first interval's start; when it is
 *   longer than the intervals, they repeat ("loop") until it ends (P9999Y: indefinitely, expanded here
 *   up to `untilMs`).
 * - 7.3 randomizeStart: gridflex does not randomise; it is reported per interval so that a consumer can
 *   widen a limit over the whole window in which a randomising VEN might apply it.
 * - 7.4: "If an intervalPeriod is not present in the event, then one must be present in every
 *   interval" — checked by validateEventTiming.
 */

/** Epoch ms of '0001-01-01T00:00:00Z'. */
export const BEGINNING_OF_TIME_MS = -62_135_596_800_000;

export function isBeginningOfTime(start: string | undefined): boolean {
  return start !== undefined && /^0001-01-01(T00:00:00(\.0+)?(Z|[+-]00:00)?)?$/i.test(start);
}

function startMs(start: string): number {
  return isBeginningOfTime(start) ? BEGINNING_OF_TIME_MS : Date.parse(start);
}

export interface ExpandedInterval {
  /** The interval's id in the event (repeated by every loop of the intervals). */
  id: number;
  startMs: number;
  /** Infinity for P9999Y. */
  endMs: number;
  /** |randomizeStart| in ms (0 when none). */
  randomizeMs: number;
  payloads: ValuesMap[];
}

export interface EventTiming {
  intervals: ExpandedInterval[];
  /** Lifespan of the event: first start to last end (Infinity: unbounded); null without intervals. */
  startMs: number | null;
  endMs: number | null;
}

type TimedEvent = Pick<EventRequest, 'intervalPeriod' | 'intervals' | 'duration'>;

/** Problems with an event's timing that make it meaningless (400 at the VTN); [] when fine. */
export function validateEventTiming(e: TimedEvent): string[] {
  const problems: string[] = [];
  const intervals = e.intervals ?? [];
  if (!e.intervalPeriod) {
    intervals.forEach((iv, i) => {
      if (!iv.intervalPeriod) problems.push(`intervals[${i}]: needs an intervalPeriod when the event has none (User Guide 7.4)`);
    });
  }
  const ids = new Set<number>();
  intervals.forEach((iv, i) => {
    if (ids.has(iv.id)) problems.push(`intervals[${i}]: duplicate interval id ${iv.id}`);
    ids.add(iv.id);
    const d = iv.intervalPeriod?.duration ?? e.intervalPeriod?.duration;
    const p = d ? parseDuration(d) : null;
    if (p && p.sign < 0) problems.push(`intervals[${i}]: negative duration ${d}`);
  });
  const ed = e.duration ? parseDuration(e.duration) : null;
  if (ed && ed.sign < 0) problems.push(`duration: negative duration ${e.duration}`);
  return problems;
}

function merged(event: IntervalPeriod | undefined, own: IntervalPeriod | undefined): IntervalPeriod {
  return { ...(event ?? {}), ...(own ?? {}) };
}

/** Expands intervals to absolute times; loops them per event.duration up to `untilMs` (default: 400 days after the first start). */
export function expandEvent(e: TimedEvent, opts: { nowMs: number; untilMs?: number; maxIntervals?: number }): EventTiming {
  const base: ExpandedInterval[] = [];
  const intervals = e.intervals ?? [];
  let prevEnd: number | null = null;
  intervals.forEach((iv, i) => {
    const p = merged(e.intervalPeriod, iv.intervalPeriod);
    const ownStart = iv.intervalPeriod?.start;
    let s: number;
    if (ownStart !== undefined && !isBeginningOfTime(ownStart)) s = startMs(ownStart);
    else if (i === 0) s = e.intervalPeriod?.start !== undefined ? startMs(e.intervalPeriod.start) : opts.nowMs;
    else s = prevEnd!;
    const end = p.duration ? addDuration(s, p.duration) : s;
    const r = p.randomizeStart ? Math.abs(durationMs(p.randomizeStart, s)) : 0;
    base.push({ id: iv.id, startMs: s, endMs: end, randomizeMs: Number.isFinite(r) ? r : 0, payloads: iv.payloads });
    prevEnd = end;
  });
  if (base.length === 0) return { intervals: [], startMs: null, endMs: null };
  const first = base[0]!.startMs;
  const naturalEnd = Math.max(...base.map((b) => b.endMs));
  if (!e.duration) return { intervals: base, startMs: first, endMs: naturalEnd };

  // event.duration: truncate, or loop the intervals with a period of their natural span.
  const eventEnd = addDuration(first, e.duration);
  const out: ExpandedInterval[] = [];
  const clip = (b: ExpandedInterval, shift: number): boolean => {
    const s = b.startMs + shift;
    if (s >= eventEnd) return false;
    out.push({ ...b, startMs: s, endMs: Math.min(b.endMs + shift, eventEnd) });
    return true;
  };
  for (const b of base) clip(b, 0);
  const span = naturalEnd - first;
  if (eventEnd > naturalEnd && Number.isFinite(span) && span > 0) {
    const until = Math.min(eventEnd, opts.untilMs ?? first + 400 * 86_400_000);
    const max = opts.maxIntervals ?? 10_000;
    for (let k = 1; first + k * span < until && out.length < max; k++) {
      for (const b of base) if (b.startMs + k * span < until) clip(b, k * span);
    }
  }
  return { intervals: out, startMs: first, endMs: eventEnd };
}

/**
 * User Guide 7.3 "multi-valued payloads": for payload types that carry one value, several values
 * split the interval into equal sub-intervals, one per value.
 */
export const SINGLE_VALUED_TYPES: ReadonlySet<string> = new Set([
  'SIMPLE',
  'PRICE',
  'PRICE_ALTERNATE',
  'EXPORT_PRICE',
  'GHG',
  'IMPORT_CAPACITY_LIMIT',
  'EXPORT_CAPACITY_LIMIT',
  'IMPORT_CAPACITY_SUBSCRIPTION',
  'EXPORT_CAPACITY_SUBSCRIPTION',
  'IMPORT_CAPACITY_RESERVATION',
  'EXPORT_CAPACITY_RESERVATION',
]);

export interface ValueSlot {
  startMs: number;
  endMs: number;
  value: number;
}

/** The values of one payload over an expanded interval, split into sub-intervals where it has several. */
export function payloadSlots(iv: ExpandedInterval, payload: ValuesMap): ValueSlot[] {
  const nums = payload.values.filter((v): v is number => typeof v === 'number');
  if (nums.length === 0) return [];
  if (nums.length === 1 || !SINGLE_VALUED_TYPES.has(payload.type) || !Number.isFinite(iv.endMs)) {
    return [{ startMs: iv.startMs, endMs: iv.endMs, value: nums[0]! }];
  }
  const step = (iv.endMs - iv.startMs) / nums.length;
  return nums.map((value, k) => ({ startMs: iv.startMs + Math.round(k * step), endMs: iv.startMs + Math.round((k + 1) * step), value }));
}

/** Whether the event's lifespan includes `nowMs` (the `active` filter of GET /events). */
export function isActive(t: Pick<EventTiming, 'startMs' | 'endMs'>, nowMs: number): boolean {
  // An event without intervals (e.g. a report-only event) has not transpired.
  if (t.startMs === null || t.endMs === null) return true;
  return t.endMs > nowMs;
}
