/**
 * ISO 8601 durations as the OpenADR 3 `duration` schema spells them, and date arithmetic with them.
 * Pure: no clock reads.
 *
 * - The pattern is the one of the 3.1.0 document (components.schemas.duration).
 * - "P9999Y" means infinity (User Guide 7.3 intervalPeriod.duration): addDuration returns Infinity.
 * - Years and months are calendar steps in UTC; weeks are 7 days; days are 24 h (UTC has no DST).
 * - A leading '-' (allowed by the pattern) subtracts.
 */
const PATTERN = /^(-?)P(?=\d|T\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)([DW]))?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

export interface ParsedDuration {
  sign: 1 | -1;
  years: number;
  months: number;
  days: number;
  /** Hours, minutes and seconds as milliseconds. */
  ms: number;
}

/** Years at or above this mean "infinity" (P9999Y). */
export const INFINITE_YEARS = 9999;

export function isDuration(s: string): boolean {
  return PATTERN.test(s);
}

export function parseDuration(s: string): ParsedDuration | null {
  const m = PATTERN.exec(s);
  if (!m) return null;
  const n = (v: string | undefined) => (v === undefined ? 0 : Number(v));
  const dayCount = m[5] === 'W' ? n(m[4]) * 7 : n(m[4]);
  return {
    sign: m[1] === '-' ? -1 : 1,
    years: n(m[2]),
    months: n(m[3]),
    days: dayCount,
    ms: Math.round(n(m[6]) * 3_600_000 + n(m[7]) * 60_000 + n(m[8]) * 1000),
  };
}

export function isInfinite(d: ParsedDuration): boolean {
  return d.sign === 1 && d.years >= INFINITE_YEARS;
}

/** `startMs + d` in UTC; Infinity for P9999Y (or when the start is already infinite). */
export function addDuration(startMs: number, d: ParsedDuration | string): number {
  const p = typeof d === 'string' ? parseDuration(d) : d;
  if (!p) throw new Error(`not an ISO 8601 duration: ${String(d)}`);
  if (!Number.isFinite(startMs) || isInfinite(p)) return Infinity;
  const t = new Date(startMs);
  if (p.years || p.months) t.setUTCMonth(t.getUTCMonth() + p.sign * (p.years * 12 + p.months));
  return t.getTime() + p.sign * (p.days * 86_400_000 + p.ms);
}

/** A duration's length from `startMs` in ms (Infinity for P9999Y). */
export function durationMs(d: ParsedDuration | string, startMs = 0): number {
  const end = addDuration(startMs, d);
  return end === Infinity ? Infinity : end - startMs;
}

/** A whole number of milliseconds as an ISO 8601 duration (PT…S), for durations we write. */
export function msToDuration(ms: number): string {
  if (ms === Infinity) return 'P9999Y';
  if (ms % 3_600_000 === 0) return `PT${ms / 3_600_000}H`;
  if (ms % 60_000 === 0) return `PT${ms / 60_000}M`;
  return `PT${ms / 1000}S`;
}
