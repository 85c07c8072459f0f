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
  /**
   * LISTENs on `channel` until the returned function is called; `onNotify` gets each NOTIFY payload
   * (delivered only once the notifying transaction commits). On PostgreSQL the listener has its own
   * connection, outside the pool, and reconnects with backoff when it drops: notifications sent
   * while it was down are lost, so `events.onListening` (called each time LISTEN is in force again)
   * is the caller's cue to catch up. Resolves after the first attempt, whether it succeeded or not
   * (a failure is reported through `events.onLost` and retried).
   */
  listen(channel: string, onNotify: (payload: string) => void, events?: ListenEvents): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface ListenEvents {
  /** LISTEN is in force (first time, or again after a lost connection). */
  onListening?(): void;
  /** The listening connection failed or dropped; the next attempt is in `retryInMs`. */
  onLost?(err: Error, retryInMs: number): void;
}

/** Only plain identifiers are LISTENed on, so they need no quoting rules beyond this check. */
export function checkChannelName(channel: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`invalid LISTEN channel name ${JSON.stringify(channel)}`);
  return channel;
}

/** A PostgreSQL error code, when the driver reports one (23505 unique violation, ...). */
export function pgErrorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}
