import { Conflict } from '../http/errors.ts';
import type { Db, Queryable } from '../store/db.ts';
import { markRequestSeen } from './peer-store.ts';

/**
 * Runs the effect of one inbound OSCP message in one transaction together with its replay row.
 * OSCP 2.0 HTTP headers: X-Request-ID identifies a message; gridflex accepts each id once per peer, so
 * a retried or replayed message gets 409 and changes nothing. When `fn` throws, the transaction rolls
 * back and the id stays unused: the peer may send the corrected message under the same id.
 */
export function acceptOnce<T>(db: Db, peerId: string, requestId: string, fn: (q: Queryable) => Promise<T>): Promise<T> {
  return db.tx(async (q) => {
    if (!(await markRequestSeen(q, peerId, requestId))) throw new Conflict(`X-Request-ID ${requestId} was already received from this peer`);
    return fn(q);
  });
}
