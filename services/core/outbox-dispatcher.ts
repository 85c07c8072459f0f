import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import type { Db } from '../store/db.ts';
import { backlog, claimDue, recordAttempt, type OutboxChannel, type OutboxRow } from '../store/outbox-store.ts';
import type { ChannelHandler, DeliveryResult } from './delivery.ts';

export interface Dispatcher {
  /**
   * `localTargets`: for channels whose targets live on one instance (OCPP: the station's socket), the
   * targets this instance can reach; only their messages are claimed here, so another instance holding
   * the socket delivers the rest instead of both bouncing them as unavailable.
   */
  register(channel: OutboxChannel, handler: ChannelHandler, opts?: { localTargets?: () => string[] }): void;
  /** Runs a delivery pass soon (after an enqueue or a reconnect). */
  kick(): void;
  /** One delivery pass; resolves when every claimed message has an outcome. Exposed for tests. */
  runOnce(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 5 * 60_000;

/**
 * Delivers the persisted outbox. Messages to one target go out in id order, one at a time (a station
 * must see profile updates in the order they were decided); different targets are served in parallel.
 * A crash leaves rows in_flight; they are claimed again once stale, so every message is delivered at
 * least once and peers see stable ids for idempotency.
 */
export function createDispatcher(deps: { db: Db; log: Logger; metrics: Metrics; config: Config }): Dispatcher {
  const { db, log, metrics, config } = deps;
  const handlers = new Map<OutboxChannel, ChannelHandler>();
  const localTargets = new Map<OutboxChannel, () => string[]>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let again = false;
  let stopped = true;

  async function deliver(row: OutboxRow): Promise<void> {
    const handler = handlers.get(row.channel);
    let result: DeliveryResult;
    if (!handler) result = { outcome: 'unavailable', error: `no handler for channel ${row.channel}` };
    else {
      try {
        result = await handler(row);
      } catch (err) {
        result = { outcome: 'retry', error: err instanceof Error ? err.message : String(err) };
      }
    }
    metrics.outboxDeliveries.inc({ channel: row.channel, outcome: result.outcome });
    const logFields = { outboxId: row.id, channel: row.channel, target: row.target, action: row.action, outcome: result.outcome };
    switch (result.outcome) {
      case 'acked':
        await recordAttempt(db, row.id, { state: 'acked', response: result.response, countAttempt: true });
        log.debug(logFields, 'outbox message delivered');
        return;
      case 'rejected':
        await recordAttempt(db, row.id, { state: 'rejected', response: result.response, error: result.error, countAttempt: true });
        log.warn({ ...logFields, response: result.response, error: result.error }, 'outbox message rejected by peer');
        return;
      case 'unavailable':
        // Not an attempt: the target is away; it is kicked again when it comes back.
        await recordAttempt(db, row.id, { state: 'pending', error: result.error, retryInMs: Math.max(config.OUTBOX_POLL_MS * 10, 5000), countAttempt: false });
        return;
      case 'retry': {
        const attempts = row.attempts + 1;
        if (attempts >= config.OUTBOX_MAX_ATTEMPTS) {
          await recordAttempt(db, row.id, { state: 'failed', error: result.error, countAttempt: true });
          log.error({ ...logFields, attempts, error: result.error }, 'outbox message failed for good');
          return;
        }
        const backoff = Math.min(MAX_BACKOFF_MS, config.OUTBOX_RETRY_BASE_MS * 2 ** (attempts - 1));
        const jitter = Math.floor(Math.random() * backoff * 0.2);
        await recordAttempt(db, row.id, { state: 'pending', error: result.error, retryInMs: backoff + jitter, countAttempt: true });
        log.info({ ...logFields, attempts, error: result.error }, 'outbox message will be retried');
      }
    }
  }

  async function pass(): Promise<number> {
    const staleMs = config.OCPP_CALL_TIMEOUT_MS * 2 + 10_000;
    const rows = await claimDue(db, { limit: 500, staleMs, ...(localTargets.size ? { excludeChannels: [...localTargets.keys()] } : {}) });
    for (const [channel, targets] of localTargets) {
      const here = targets();
      if (here.length > 0) rows.push(...(await claimDue(db, { channel, targets: here, limit: 500, staleMs })));
    }
    const byTarget = new Map<string, OutboxRow[]>();
    for (const r of rows) {
      const key = `${r.channel}|${r.target}`;
      const list = byTarget.get(key);
      if (list) list.push(r);
      else byTarget.set(key, [r]);
    }
    await Promise.all(
      [...byTarget.values()].map(async (list) => {
        for (const r of list) {
          try {
            await deliver(r);
          } catch (err) {
            log.error({ err, outboxId: r.id }, 'outbox bookkeeping failed');
          }
        }
      }),
    );
    const b = await backlog(db);
    for (const [channel, n] of Object.entries(b)) metrics.outboxBacklog.set({ channel }, n);
    return rows.length;
  }

  function runOnce(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let total = 0;
      do {
        again = false;
        total += await pass();
      } while (again && !stopped);
      return total;
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      runOnce()
        .catch((err: unknown) => log.error({ err }, 'outbox pass failed'))
        .finally(() => schedule(config.OUTBOX_POLL_MS));
    }, delayMs);
  }

  return {
    register(channel, handler, opts) {
      handlers.set(channel, handler);
      if (opts?.localTargets) localTargets.set(channel, opts.localTargets);
      else localTargets.delete(channel);
    },
    kick() {
      if (running) again = true;
      else schedule(0);
    },
    runOnce,
    start() {
      stopped = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}
