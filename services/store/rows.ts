/** Helpers to read driver rows: both drivers return timestamptz as Date and numerics as number. */
export function toMs(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string' || typeof v === 'number') return new Date(v).getTime();
  throw new TypeError(`not a timestamp: ${String(v)}`);
}

export function toMsOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : toMs(v);
}

export function numOrUndef(v: unknown): number | undefined {
  return v === null || v === undefined ? undefined : Number(v);
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
