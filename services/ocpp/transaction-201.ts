/**
 * OCPP 2.0.1 transactions (E01–E15: TransactionEvent) and ISO 15118 charging needs (NotifyEVChargingNeeds,
 * 2.0.1 K15 and 2.1 V2X: ev-needs-2x.ts). Sessions, meter values and needs are committed before the
 * answer is sent.
 */
import { readMeterValues201 } from '../../grid-adapters/ocpp/meter-values.ts';
import type { TransactionEvent201 } from '../../grid-adapters/ocpp/wire-201.ts';
import { audit } from '../store/audit-store.ts';
import { typed, type HandlerTable } from './handler-context.ts';
import { evNeedsHandlers2x } from './ev-needs-2x.ts';
import { ingestReadings } from './meter-ingest.ts';
import { findSession, startSession, stopSession } from './session-store.ts';
import { findEvse } from './station-store.ts';

export const transactionHandlers201: HandlerTable = {
  TransactionEvent: typed<TransactionEvent201>(async (p, ctx) => {
    const transactionId = p.transactionInfo.transactionId;
    const atMs = Date.parse(p.timestamp);
    const readings = p.meterValue ? readMeterValues201(p.meterValue) : [];
    const actor = `station:${ctx.stationId}`;
    const outcome = await ctx.db.tx(async (q) => {
      let session = await findSession(q, ctx.stationId, transactionId);
      let opened = false;
      if (!session) {
        // Started, or an Updated/Ended whose Started never arrived (lost, or still queued offline on
        // the station): open the session now, at this event's time. The EVSE is named in the first
        // event of a transaction (E01), so it is known here in practice.
        const evse = p.evse ? await findEvse(q, ctx.stationId, p.evse.id) : undefined;
        if (!evse) {
          ctx.log.warn({ transactionId, ocppEvseId: p.evse?.id ?? null, eventType: p.eventType }, 'TransactionEvent for an EVSE missing from the topology: not stored');
          return { stored: false, opened: false };
        }
        const started = await startSession(q, { stationId: ctx.stationId, evseId: evse.id, transactionId, idToken: p.idToken?.idToken ?? null, startedMs: atMs });
        session = started.session;
        opened = started.created;
        if (opened) await audit(q, actor, 'ocpp.TransactionStarted', session.id, { evseId: evse.id, transactionId, triggerReason: p.triggerReason });
      }
      await ingestReadings(q, { nodeId: session.evseId, sessionId: session.id }, readings, ctx.meterCheck);
      if (p.eventType === 'Ended') {
        const reason = p.transactionInfo.stoppedReason ?? p.triggerReason;
        await stopSession(q, session.id, atMs, reason);
        await audit(q, actor, 'ocpp.TransactionEnded', session.id, { transactionId, reason });
      }
      return { stored: true, opened };
    });
    if (outcome.stored && (p.eventType !== 'Updated' || outcome.opened)) {
      ctx.areaChanged(p.eventType === 'Ended' ? 'ocpp:transaction-ended' : 'ocpp:transaction-started');
    }
    // An event carrying an idToken is answered with its authorization (no lists yet: Accepted).
    return p.idToken ? { idTokenInfo: { status: 'Accepted' } } : {};
  }),

  ...evNeedsHandlers2x,
};
