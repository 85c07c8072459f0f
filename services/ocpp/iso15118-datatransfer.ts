/**
 * OCPP 1.6 DataTransfer: ISO 15118 smart charging for 1.6 charge points that carry it in the OCA
 * envelope (grid-adapters/ocpp/iso15118-datatransfer-16.ts). The inner OCPP 2.0.1 request, validated
 * against the 2.0.1 schema, goes to the very handler a 2.0.1 station's message goes to, so a 1.6 and a
 * 2.0.1 session get the same treatment:
 * - NotifyEVChargingNeeds (K15): the needs are stored on the open session of that connector (evseId in
 *   the payload = the 1.6 connectorId) before the answer, then the grid area is re-planned; the
 *   station gets the usual 1.6 TxProfile (SetChargingProfile) and turns it into the SAScheduleList.
 * - NotifyEVChargingSchedule (K17): checked against the last TxProfile the station acknowledged.
 * Everything else: UnknownVendorId / UnknownMessageId / Rejected without a handler (see the adapter).
 */
import { createRPCError } from 'ocpp-rpc';
import {
  openIso15118DataTransfer,
  sealIso15118Answer,
  type DataTransfer16,
  type Iso15118SmartMessage,
} from '../../grid-adapters/ocpp/iso15118-datatransfer-16.ts';
import { evScheduleHandlers2x } from './ev-schedule-201.ts';
import { isRpcError, typed, type Handler } from './handler-context.ts';
import { transactionHandlers201 } from './transaction-201.ts';

function handlerOf(action: Iso15118SmartMessage): Handler {
  const h = action === 'NotifyEVChargingNeeds' ? transactionHandlers201.NotifyEVChargingNeeds : evScheduleHandlers2x.NotifyEVChargingSchedule;
  // Both are defined in their tables; a missing one is a wiring bug (answered InternalError).
  if (!h) throw new Error(`no OCPP 2.0.1 handler for ${action}`);
  return h;
}

export const iso15118DataTransfer16: Handler = typed<DataTransfer16>(async (p, ctx) => {
  const opened = openIso15118DataTransfer(p);
  if (opened.kind === 'answer') {
    const fields = { vendorId: p.vendorId, messageId: p.messageId ?? null, status: opened.conf.status };
    if (opened.problem) ctx.log.warn({ ...fields, problem: opened.problem }, 'DataTransfer: ISO 15118 payload rejected');
    else ctx.log.info(fields, 'DataTransfer not handled');
    return opened.conf;
  }
  let response: object;
  try {
    response = await handlerOf(opened.action)(opened.payload, ctx);
  } catch (err) {
    // An RPC error from the inner handler is a verdict on the inner payload: Rejected in the envelope,
    // named as the 2.0.1 CALLERROR would have named it. Anything else (the database) stays a
    // CALLERROR InternalError on the DataTransfer itself, so the station retries it.
    if (!isRpcError(err) || err.rpcErrorCode === 'InternalError') throw err;
    ctx.log.warn({ action: opened.action, errorCode: err.rpcErrorCode }, 'DataTransfer: ISO 15118 payload rejected by its handler');
    return { status: 'Rejected', data: JSON.stringify({ errorCode: err.rpcErrorCode, description: err.message }) };
  }
  try {
    return sealIso15118Answer(opened.action, response);
  } catch (err) {
    ctx.log.error({ err, action: opened.action }, 'ISO 15118 answer failed its schema: answering InternalError');
    throw createRPCError('InternalError', 'internal error', {});
  }
});
