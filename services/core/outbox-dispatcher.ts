import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import type { Db } from '../store/db.ts';
import { backlog, claimDue, OUTBOX_NOTIFY_CHANNEL, type OutboxChannel, type OutboxRow } from '../store/outbox-store.ts';
import { createAttemptWriter } from './attempt-writer.ts';
import type { ChannelHandler, DeliveryResult } from './delivery.ts';

export interface Dispatcher {
  /**
   * `localTargets`: for channels whose targets live on one instance (OCPP: the station's socket), the
   * targets this instance can reach; only their messages are claimed here, so another instance holding
   * the socket delivers the rest instead of both bouncing them as unavailable. `owner`: in addition,
   * only targets whose station_state.connected_instance is this token (csms.instanceId): a station
   * this instance still believes it holds over a half-dead socket, while it has reconnected to
   * another instance, is left to that one.
   */
  register(channel: OutboxChannel, handler: ChannelHandler, opts?: { localTargets?: () => string[]; owner?: string }): void;
  /**
   * Runs a delivery pass soon (after an enqueue or a reconnect). Cheap to call often: kicks during a
   * pass fold into one more claim, kicks between passes into one pass.
   */
  kick(): void;
  /** Whether the LISTEN for other instances' enqueues is in force (between start() and stop()). */
  isListening(): boolean;
  /** One delivery pass; resolves when every claimed message has an outcome. Exposed for tests. */
  runOnce(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 5 * 60_000;
/** Messages in flight at once, over all targets (each target has at most one). */
const DEFAULT_WINDOW = 1000;

/**
 * Delivers the persisted outbox. Messages to one target go out in id order, one at a time (a station
 * must see profile updates in the order they were decided); different targets are served in parallel.
 * A crash leaves rows in_flight; they are claimed again once stale, so every message is delivered at
 * least once and peers see stable ids for idempotency.
 */
export function createDispatcher(deps: { db: Db; log: Logger; metrics: Metrics; config: Config; window?: number }): Dispatcher {
  const { db, log, metrics, config } = deps;
  const WINDOW = deps.window ?? DEFAULT_WINDOW;
  /** A row in flight for longer than this is claimed again (a crashed instance's rows). */
  const staleMs = config.OCPP_CALL_TIMEOUT_MS * 2 + 10_000;
  /**
   * Watchdog over one delivery (the channel's answer and storing it). Every channel bounds its own
   * wait (OCPP call timeout, fetch and MQTT time-outs), but an OCPP CALL's timeout only starts once
   * it leaves ocpp-rpc's per-station queue (callConcurrency 1), and a database that stops answering
   * would hold the outcome write: without this, one such delivery held its window slot, and a pass
   * that waits for its chains, forever. Shorter than staleMs, so the slot is free before the row
   * could be claimed again.
   */
  const deliveryDeadlineMs = staleMs - 10_000;
  /**
   * Targets whose delivery overran the watchdog, until their rows go stale: the row stays in_flight
   * (its outcome is unknown; it is claimed again once stale, at least once), and nothing later for
   * the target is claimed meanwhile, so it cannot overtake the unanswered one.
   */
  const stuckUntil = new Map<string, number>();
  const handlers = new Map<OutboxChannel, ChannelHandler>();
  const localTargets = new Map<OutboxChannel, { targets: () => string[]; owner?: string }>();
  let unlisten: Promise<() => Promise<void>> | undefined;
  let listening = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let again = false;
  let stopped = true;
  /** stop() was called: a running drain() claims nothing more (runOnce works without start()). */
  let halted = false;
  /** Wakes a running drain() that waits for room (set while one runs). */
  let wakeDrain: (() => void) | undefined;
  // Outcomes are stored in batches (group commit); deliver() still waits until its own is stored.
  const outcomes = createAttemptWriter(db);

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
        await outcomes.record(row.id, { state: 'acked', response: result.response, countAttempt: true });
        log.debug(logFields, 'outbox message delivered');
        return;
      case 'rejected':
        await outcomes.record(row.id, { state: 'rejected', response: result.response, error: result.error, countAttempt: true });
        log.warn({ ...logFields, response: result.response, error: result.error }, 'outbox message rejected by peer');
        return;
      case 'unavailable':
        // Not an attempt: the target is away; it is kicked again when it comes back.
        await outcomes.record(row.id, { state: 'pending', error: result.error, retryInMs: Math.max(config.OUTBOX_POLL_MS * 10, 5000), countAttempt: false });
        return;
      case 'retry': {
        const attempts = row.attempts + 1;
        if (attempts >= config.OUTBOX_MAX_ATTEMPTS) {
          await outcomes.record(row.id, { state: 'failed', error: result.error, countAttempt: true });
          log.error({ ...logFields, attempts, error: result.error }, 'outbox message failed for good');
          return;
        }
        const backoff = Math.min(MAX_BACKOFF_MS, config.OUTBOX_RETRY_BASE_MS * 2 ** (attempts - 1));
        const jitter = Math.floor(Math.random() * backoff * 0.2);
        await outcomes.record(row.id, { state: 'pending', error: result.error, retryInMs: backoff + jitter, countAttempt: true });
        log.info({ ...logFields, attempts, error: result.error }, 'outbox message will be retried');
      }
    }
  }

  /**
   * deliver() under the watchdog: resolves true when the delivery finished (outcome stored, or its
   * write failed), false when it overran deliveryDeadlineMs (it may still finish later; nothing waits).
   */
  async function deliverWithin(row: OutboxRow): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const overran = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), deliveryDeadlineMs)));
    const done = deliver(row).then(
      () => true as const,
      (err: unknown) => {
        log.error({ err, outboxId: row.id }, 'outbox bookkeeping failed');
        return true as const;
      },
    );
    try {
      return await Promise.race([done, overran]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Targets this pass must not claim for: their chain runs here, or their last delivery overran. */
  function busyTargets(chains: Map<string, unknown>): string[] {
    const now = Date.now();
    for (const [t, until] of stuckUntil) if (until <= now) stuckUntil.delete(t);
    return [...new Set([...chains.keys(), ...stuckUntil.keys()])];
  }

  /** Claims up to `limit` due messages, none for a target in `busy` (its chain still runs here). */
  async function claim(limit: number, busy: string[]): Promise<OutboxRow[]> {
    const exclude = busy.length > 0 ? { excludeTargets: busy } : {};
    const rows = await claimDue(db, { limit, staleMs, ...exclude, ...(localTargets.size ? { excludeChannels: [...localTargets.keys()] } : {}) });
    for (const [channel, { targets, owner }] of localTargets) {
      const room = limit - rows.length;
      const busySet = new Set(busy);
      const here = targets().filter((t) => !busySet.has(t));
      if (room > 0 && here.length > 0) rows.push(...(await claimDue(db, { channel, targets: here, limit: room, staleMs, ...(owner ? { ownedBy: owner } : {}) })));
    }
    return rows;
  }

  /**
   * Delivers until nothing is due: a sliding window of at most WINDOW messages in flight. A target's
   * messages run as one chain, in id order, each one's outcome stored before the next is sent; while a
   * chain runs, nothing more is claimed for its target, so a later claim cannot overtake it. The window
   * is refilled when half of it is free, at once after a kick, and at every poll tick (rows that came
   * due without a kick), so one slow station (up to OCPP_CALL_TIMEOUT_MS per CALL, and at most
   * deliveryDeadlineMs per message) does not hold up the claims for every other target.
   */
  async function drain(): Promise<number> {
    const chains = new Map<string, Promise<void>>();
    let inFlight = 0;
    let total = 0;
    let wake: (() => void) | undefined;
    wakeDrain = () => wake?.();
    try {
      for (;;) {
        again = false;
        let rows: OutboxRow[] = [];
        try {
          if (!halted && inFlight < WINDOW) rows = await claim(WINDOW - inFlight, busyTargets(chains));
        } catch (err) {
          // A transient database error: the chains in flight go on, and the next poll tick (or a
          // finished chain) claims again. Throwing here made the pass wait for every chain, however
          // slow, before anything else could be claimed.
          log.error({ err }, 'outbox claim failed; trying again at the next poll');
        }
        total += rows.length;
        const byTarget = new Map<string, OutboxRow[]>();
        for (const r of rows) {
          const list = byTarget.get(r.target);
          if (list) list.push(r);
          else byTarget.set(r.target, [r]);
        }
        for (const [target, list] of byTarget) {
          inFlight += list.length;
          const chain = (async () => {
            for (let i = 0; i < list.length; i++) {
              const r = list[i]!;
              if (await deliverWithin(r)) {
                inFlight--;
                continue;
              }
              // Overran: this row and the target's later ones claimed with it stay in_flight and are
              // claimed again, in id order, once stale; their window slots are free now.
              inFlight -= list.length - i;
              stuckUntil.set(target, Date.now() + staleMs);
              metrics.outboxDeliveries.inc({ channel: r.channel, outcome: 'overran' }, list.length - i);
              log.error({ outboxId: r.id, channel: r.channel, target, action: r.action, deadlineMs: deliveryDeadlineMs, left: list.length - i }, 'outbox delivery overran its deadline; claimed again once stale');
              return;
            }
          })().finally(() => {
            chains.delete(target);
            wake?.();
          });
          chains.set(target, chain);
        }
        if (chains.size === 0 && rows.length === 0 && !again) break;
        // Claim again when half the window is free; when nothing else was due, once every chain is done
        // (a finished chain may free later messages of its target). A kick or a poll tick claims at once.
        const ready = () => again || chains.size === 0 || (rows.length > 0 && inFlight <= WINDOW / 2);
        while (!ready()) await new Promise<void>((r) => (wake = r));
      }
    } finally {
      wakeDrain = undefined;
      await Promise.allSettled(chains.values());
    }
    const b = await backlog(db);
    for (const [channel, n] of Object.entries(b)) metrics.outboxBacklog.set({ channel }, n);
    return total;
  }

  function runOnce(): Promise<number> {
    if (running) {
      again = true;
      wakeDrain?.();
      return running;
    }
    running = (async () => {
      let total = 0;
      // A kick that came after drain()'s last claim (while it waited for its chains or read the
      // backlog) found no claim loop to wake: it is served here instead of being lost.
      do total += await drain();
      while (again && !halted);
      return total;
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  /**
   * The poll timer ticks every OUTBOX_POLL_MS whatever a pass does: a tick during a pass wakes its
   * claim loop (rows that became due meanwhile, e.g. enqueued without a kick or after a retry's
   * backoff), a tick between passes starts one. It is re-armed before the pass runs, not after it
   * settles, so neither a pass that fails nor one that waits long for a slow target stops the polling.
   */
  function schedule(delayMs: number): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      schedule(config.OUTBOX_POLL_MS);
      runOnce().catch((err: unknown) => log.error({ err }, 'outbox pass failed'));
    }, delayMs);
  }

  function kick(): void {
    if (running) {
      again = true;
      wakeDrain?.();
    } else schedule(0);
  }

  /**
   * Wakes this dispatcher when any instance enqueues (outbox-store.ts NOTIFYs on commit), so a message
   * for a station connected here goes out at once even when another instance planned it. A burst of
   * notifications costs no more than a burst of kick()s: during a pass they set one flag, between
   * passes they re-arm one zero-delay timer. While the listening connection is down the poll still
   * runs; once it is back, one pass catches up with what was enqueued meanwhile.
   */
  function listen(): void {
    unlisten = db.listen(
      OUTBOX_NOTIFY_CHANNEL,
      (payload) => {
        if (handlers.has(payload as OutboxChannel)) kick();
      },
      {
        onListening() {
          if (!listening) log.info({ channel: OUTBOX_NOTIFY_CHANNEL }, 'outbox listening for enqueues of other instances');
          listening = true;
          kick();
        },
        onLost(err, retryInMs) {
          listening = false;
          log.warn({ err: err.message, retryInMs, pollMs: config.OUTBOX_POLL_MS }, 'outbox LISTEN connection lost; polling meanwhile, reconnecting');
        },
      },
    );
    unlisten.catch((err: unknown) => log.error({ err }, 'outbox LISTEN failed; delivery relies on polling'));
  }

  return {
    register(channel, handler, opts) {
      handlers.set(channel, handler);
      if (opts?.localTargets) localTargets.set(channel, { targets: opts.localTargets, ...(opts.owner ? { owner: opts.owner } : {}) });
      else localTargets.delete(channel);
    },
    kick,
    isListening: () => listening,
    runOnce,
    start() {
      stopped = false;
      halted = false;
      if (!unlisten) listen();
      schedule(0);
    },
    async stop() {
      stopped = true;
      halted = true;
      wakeDrain?.();
      if (timer) clearTimeout(timer);
      timer = undefined;
      const u = unlisten;
      unlisten = undefined;
      listening = false;
      await Promise.allSettled([running, u?.then((f) => f())]);
    },
  };
}
