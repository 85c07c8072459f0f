/**
 * OCPP 2.1 priority charging (use case K21; OCPP 2.1 errata 2025-06 §2.33: "K21.FR.10 CSMS SHALL support
 * sending a UsePriorityChargingRequest"):
 *
 * - NotifyPriorityCharging (station → CSMS): the driver pressed "priority" at the station (activated =
 *   true) or it stopped using the priority charging profile (false). gridflex stores it on the session and
 *   re-plans: the session's demand then carries `priority: true` (optimizer/model.ts ChargingDemand), so
 *   its energy is served before others' from the headroom under the limits, never above one.
 * - UsePriorityCharging (CSMS → station): `requestPriorityCharging` sends it through the outbox (so it is
 *   ordered with the profiles of the station and retried like them) and waits for the answer. `Accepted`
 *   sets the session's priority to `activate` and re-plans; `Rejected` / `NoProfile` change nothing. The
 *   answer is kept on the outbox row either way.
 *
 * Both messages exist in OCPP 2.1 only; the handlers are attached to 2.1 connections only.
 */
import type { Config } from '../config.ts';
import { audit } from '../store/audit-store.ts';
import type { Db } from '../store/db.ts';
import { enqueue } from '../store/outbox-store.ts';
import { typed, type HandlerTable } from './handler-context.ts';
import { findSession, setSessionPriority } from './session-store.ts';

interface NotifyPriorityCharging21 {
  transactionId: string;
  activated: boolean;
}

export const priorityHandlers21: HandlerTable = {
  NotifyPriorityCharging: typed<NotifyPriorityCharging21>(async (p, ctx) => {
    const stored = await ctx.db.tx(async (q) => {
      const session = await findSession(q, ctx.stationId, p.transactionId);
      // The response has no fields, so an unknown transaction cannot be refused: it is logged and dropped.
      if (!session || session.stoppedMs !== null) return false;
      await setSessionPriority(q, session.id, p.activated);
      await audit(q, `station:${ctx.stationId}`, 'ocpp.NotifyPriorityCharging', session.id, { transactionId: p.transactionId, activated: p.activated });
      return true;
    });
    if (!stored) {
      ctx.log.warn({ transactionId: p.transactionId, activated: p.activated }, 'NotifyPriorityCharging for no open transaction: ignored');
      return {};
    }
    ctx.areaChanged('ocpp:priority-charging');
    return {};
  }),
};

/** Outbox dedupe key of a transaction's UsePriorityCharging: a newer request replaces an undelivered one. */
export function priorityKey(stationId: string, transactionId: string): string {
  return `ocpp/${stationId}/priority/${transactionId}`;
}

export interface PriorityRequestResult {
  outboxId: number;
  /** Outbox state when the wait ended: acked / rejected / failed = answered or given up; else still pending. */
  state: string;
  /** The station's UsePriorityChargingResponse (or CALLERROR), when it answered in time. */
  answer?: unknown;
  /** The session's priority after the answer was applied (undefined while no answer). */
  priority?: boolean;
}

export interface PriorityDeps {
  db: Db;
  config: Pick<Config, 'OCPP_CALL_TIMEOUT_MS'>;
  /** Starts a delivery pass now (the outbox dispatcher's kick). */
  kick(): void;
  /** Re-plan the grid area after the priority changed. */
  areaChanged(gridAreaId: string, reason: string): void;
}

const FINAL = new Set(['acked', 'rejected', 'failed', 'superseded']);

/**
 * Sends UsePriorityCharging for an open transaction of a 2.1 station and waits up to `waitMs` for the
 * answer. The caller checks the station (exists, 2.1, connected) and the session (open) first.
 */
export async function requestPriorityCharging(
  deps: PriorityDeps,
  r: { stationId: string; gridAreaId: string; sessionId: string; transactionId: string; activate: boolean; waitMs: number },
): Promise<PriorityRequestResult> {
  const outboxId = await deps.db.tx(async (q) => {
    const id = await enqueue(q, {
      channel: 'ocpp', target: r.stationId, action: 'UsePriorityCharging',
      payload: { transactionId: r.transactionId, activate: r.activate }, dedupeKey: priorityKey(r.stationId, r.transactionId),
    });
    await audit(q, 'admin', 'ocpp.UsePriorityCharging', r.sessionId, { transactionId: r.transactionId, activate: r.activate, outboxId: id });
    return id;
  });
  deps.kick();
  const deadline = Date.now() + r.waitMs;
  for (;;) {
    const [row] = await deps.db.query<{ state: string; response: unknown }>(`SELECT state, response FROM outbox WHERE id = $1`, [outboxId]);
    const state = row?.state ?? 'missing';
    if (FINAL.has(state)) {
      const answer = row?.response ?? undefined;
      const status = (answer as { status?: unknown } | undefined)?.status;
      const accepted = state === 'acked' && status === 'Accepted';
      await deps.db.tx(async (q) => {
        if (accepted) await setSessionPriority(q, r.sessionId, r.activate);
        await audit(q, `station:${r.stationId}`, 'ocpp.UsePriorityChargingAnswered', r.sessionId, { transactionId: r.transactionId, activate: r.activate, outboxId, state, answer: answer ?? null });
      });
      if (!accepted) return { outboxId, state, ...(answer === undefined ? {} : { answer }) };
      deps.areaChanged(r.gridAreaId, 'ocpp:priority-charging');
      return { outboxId, state, answer, priority: r.activate };
    }
    if (Date.now() >= deadline) return { outboxId, state };
    await new Promise((res) => setTimeout(res, 50));
  }
}
