/**
 * Group commit of delivery outcomes for the outbox dispatcher. Outcomes that arrive while a write is
 * under way (hundreds of stations answering within milliseconds of each other) are stored together by
 * the next write, one UPDATE per batch (recordAttempts), instead of one round trip per row.
 *
 * Guarantees kept: record() resolves only once its outcome is in the database, so a caller that waits
 * for it before sending the target's next message keeps the per-target order; nothing is written but
 * outcomes that have happened; a failed write rejects every record() of its batch (the rows stay
 * in_flight and are claimed again once stale: at least once).
 */
import type { Db } from '../store/db.ts';
import { recordAttempts, type AttemptOutcome } from '../store/outbox-store.ts';

export interface AttemptWriter {
  /** Stores the outcome of one attempt; resolves when it is stored, rejects when the write failed. */
  record(id: number, outcome: AttemptOutcome): Promise<void>;
}

interface Queued {
  id: number;
  outcome: AttemptOutcome;
  resolve(): void;
  reject(err: unknown): void;
}

/** Rows per UPDATE: keeps one statement's parameters and lock set bounded. */
const MAX_BATCH = 1000;

export function createAttemptWriter(db: Db): AttemptWriter {
  let queue: Queued[] = [];
  let writing = false;

  async function writeAll(): Promise<void> {
    // One turn of the event loop first, so answers read from the sockets in the same I/O phase join.
    await new Promise((r) => setImmediate(r));
    while (queue.length > 0) {
      const batch = queue.slice(0, MAX_BATCH);
      queue = queue.slice(batch.length);
      try {
        await recordAttempts(db, batch);
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    // In the same synchronous turn as the empty check: a record() after this starts a new writer.
    writing = false;
  }

  return {
    record(id, outcome) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ id, outcome, resolve, reject });
        if (writing) return;
        writing = true;
        void writeAll(); // never rejects: failures go to the records of their batch
      });
    },
  };
}
