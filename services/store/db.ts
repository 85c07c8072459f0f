/**
 * One database interface over `pg` (PostgreSQL / TimescaleDB) and PGlite (embedded default).
 * Every query in gridflex runs on both: plain SQL with $n parameters, no TimescaleDB-only functions
 * outside migrations guarded by the extension's presence.
 */
export type SqlParam = string | number | boolean | null | Date | Buffer | readonly unknown[] | Record<string, unknown>;

export interface Queryable {
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<R[]>;
}

export interface Db extends Queryable {
  readonly kind: 'pg' | 'pglite';
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Runs a script of several statements (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** A PostgreSQL error code, when the driver reports one (23505 unique violation, ...). */
export function pgErrorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}
