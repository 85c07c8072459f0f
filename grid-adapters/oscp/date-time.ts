/**
 * OSCP 2.0 "DateTime" fields are JSON Schema `format: date-time`, i.e. RFC 3339 §5.6 `date-time`.
 *
 * We accept the grammar ajv-formats (the validator our tests run the official schemas with) accepts,
 * so a message the official schema accepts is not rejected here and vice versa. The one difference:
 * ajv-formats lets an hour of 24 or a minute of 60 through when a numeric offset brings the time to
 * 23:59 UTC (e.g. `24:59:00+01:00`, a side effect of its leap-second rule); RFC 3339 does not, nor do we.
 * - separator `T`, `t` or a space (RFC 3339 §5.6 NOTE allows lower case and, for readability, a space);
 * - a time zone is required: `Z`/`z` or a numeric offset `±hh:mm` (ajv-formats also takes `±hhmm` and `±hh`);
 * - fractional seconds of any length; a leap second (`:60`) only at 23:59 UTC.
 * Pure: no clock reads.
 */
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2}):(\d{2})(\.\d+)?(z|([+-])(\d{2})(?::?(\d{2}))?)$/i;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Date.UTC maps years 0-99 onto 1900-1999; setUTCFullYear does not. */
function utcMs(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, s, 0);
  return t.getTime();
}

function isLeapYear(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

/** Epoch milliseconds of an RFC 3339 date-time, or null when the string is not one. */
export function parseDateTimeMs(s: string): number | null {
  const parts = s.split(/t|\s/i);
  if (parts.length !== 2) return null;
  const d = DATE.exec(parts[0]!);
  const t = TIME.exec(parts[1]!);
  if (!d || !t) return null;
  const [year, month, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
  if (month < 1 || month > 12 || day < 1) return null;
  if (day > (month === 2 && isLeapYear(year) ? 29 : DAYS[month - 1]!)) return null;
  const [hour, minute, second] = [Number(t[1]), Number(t[2]), Number(t[3])];
  const fracMs = t[4] ? Number(t[4]) * 1000 : 0;
  const zulu = t[5]!.toLowerCase() === 'z';
  const sign = t[6] === '-' ? -1 : 1;
  const offH = zulu ? 0 : Number(t[7]);
  const offM = zulu || t[8] === undefined ? 0 : Number(t[8]);
  if (offH > 23 || offM > 59 || hour > 23 || minute > 59 || second > 60) return null;
  const offsetMs = sign * (offH * 60 + offM) * 60_000;
  if (second === 60) {
    // RFC 3339 §5.7: a leap second is only valid as the last second of a UTC day. POSIX time has no
    // slot for it, so it maps onto the first millisecond of the next day (what Date would do with :59 + 1 s).
    const utc = utcMs(year, month, day, hour, minute, 59) - offsetMs;
    const u = new Date(utc);
    if (u.getUTCHours() !== 23 || u.getUTCMinutes() !== 59) return null;
    return utc + 1000 + Math.floor(fracMs);
  }
  return utcMs(year, month, day, hour, minute, second) + Math.floor(fracMs) - offsetMs;
}

export function isDateTime(s: string): boolean {
  return parseDateTimeMs(s) !== null;
}
