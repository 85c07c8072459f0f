/**
 * OCPP 1.6J Core profile messages a Charge Point sends: BootNotification, Heartbeat,
 * StatusNotification, Authorize, StartTransaction, StopTransaction, MeterValues, and DataTransfer
 * (ISO 15118 smart charging in the OCA envelope, iso15118-datatransfer.ts).
 * Sessions and meter values are committed before the answer is sent.
 */
import { readMeterValues16 } from '../../grid-adapters/ocpp/meter-values.ts';
import type {
  Authorize16,
  BootNotification16,
  MeterValues16,
  StartTransaction16,
  StatusNotification16,
  StopTransaction16,
} from '../../grid-adapters/ocpp/wire-16.ts';
import { audit } from '../store/audit-store.ts';
import { typed, type HandlerTable } from './handler-context.ts';
import { ingestReadings } from './meter-ingest.ts';
import { iso15118DataTransfer16 } from './iso15118-datatransfer.ts';
import { activeSessionOnEvse, findSession, nextTransactionId16, startSession, stopSession } from './session-store.ts';
import { findEvse, recordBoot, setEvseStatus, touchStation } from './station-store.ts';

const now = () => new Date().toISOString();
/** Authorization lists are future work: every idTag is Accepted; the profiles we send govern charging. */
const ACCEPTED = { status: 'Accepted' } as const;

export const handlers16: HandlerTable = {
  // OCPP 1.6 §4.2: a known, authenticated charge point is Accepted; `interval` is its heartbeat interval.
  BootNotification: typed<BootNotification16>(async (p, ctx) => {
    await ctx.db.tx(async (q) => {
      await recordBoot(q, ctx.stationId, { version: ctx.version, vendor: p.chargePointVendor, model: p.chargePointModel, firmware: p.firmwareVersion ?? null });
      await audit(q, `station:${ctx.stationId}`, 'ocpp.BootNotification', ctx.stationId, { vendor: p.chargePointVendor, model: p.chargePointModel });
    });
    ctx.log.info({ vendor: p.chargePointVendor, model: p.chargePointModel }, 'charge point booted');
    // A rebooted charge point has lost its charging profiles: read its capabilities, set the failsafe
    // TxDefaultProfile, then re-plan and re-send them (after this answer is sent).
    ctx.booted();
    return { status: 'Accepted', currentTime: now(), interval: ctx.config.OCPP_HEARTBEAT_INTERVAL_S };
  }),

  Heartbeat: typed<Record<string, never>>(async (_p, ctx) => {
    await touchStation(ctx.db, ctx.stationId);
    return { currentTime: now() };
  }),

  // connectorId 0 is the charge point as a whole (OCPP 1.6 §4.9); stored under key "0".
  StatusNotification: typed<StatusNotification16>(async (p, ctx) => {
    await setEvseStatus(ctx.db, ctx.stationId, p.connectorId, {
      status: p.status,
      errorCode: p.errorCode,
      at: p.timestamp ?? now(),
      ...(p.info ? { info: p.info } : {}),
    });
    return {};
  }),

  Authorize: typed<Authorize16>(async (_p, ctx) => {
    ctx.log.debug('Authorize: accepted (no authorization list yet)');
    return { idTagInfo: ACCEPTED };
  }),

  StartTransaction: typed<StartTransaction16>(async (p, ctx) => {
    const atMs = Date.parse(p.timestamp);
    const result = await ctx.db.tx(async (q) => {
      const evse = await findEvse(q, ctx.stationId, p.connectorId);
      if (!evse) {
        // The answer needs a transactionId in any case (it is required): give a fresh one, keep no
        // session, and let the station max profile keep this station within its share.
        ctx.log.warn({ connectorId: p.connectorId }, 'StartTransaction on a connector missing from the topology: no session stored');
        return { transactionId: await nextTransactionId16(q), stored: false };
      }
      // A retransmitted StartTransaction (same connector, idTag, time and meter start; the station did
      // not get our answer) gets the same transactionId back instead of a second session.
      const open = await activeSessionOnEvse(q, evse.id);
      if (open && open.idToken === p.idTag && open.startedMs === atMs && open.meterStartWh === p.meterStart) {
        return { transactionId: Number(open.transactionId), stored: true };
      }
      const transactionId = await nextTransactionId16(q);
      const { session } = await startSession(q, {
        stationId: ctx.stationId,
        evseId: evse.id,
        transactionId: String(transactionId),
        idToken: p.idTag,
        startedMs: atMs,
        meterStartWh: p.meterStart,
      });
      await audit(q, `station:${ctx.stationId}`, 'ocpp.StartTransaction', session.id, { evseId: evse.id, transactionId });
      return { transactionId, stored: true };
    });
    if (result.stored) ctx.areaChanged('ocpp:transaction-started');
    return { idTagInfo: ACCEPTED, transactionId: result.transactionId };
  }),

  StopTransaction: typed<StopTransaction16>(async (p, ctx) => {
    const atMs = Date.parse(p.timestamp);
    const stored = await ctx.db.tx(async (q) => {
      const session = await findSession(q, ctx.stationId, String(p.transactionId));
      if (!session) {
        // Still answered (OCPP 1.6 §4.10: the Central System cannot prevent a transaction from stopping):
        // the charge point must be able to drop it from its queue.
        ctx.log.warn({ transactionId: p.transactionId }, 'StopTransaction for an unknown transaction');
        return false;
      }
      const readings = p.transactionData ? readMeterValues16(p.transactionData) : [];
      // meterStop is the final register reading (Wh), after any transaction data.
      await ingestReadings(q, { nodeId: session.evseId, sessionId: session.id }, [...readings, { timeMs: atMs, energyWh: p.meterStop }]);
      await stopSession(q, session.id, atMs, p.reason ?? 'Local');
      await audit(q, `station:${ctx.stationId}`, 'ocpp.StopTransaction', session.id, { transactionId: p.transactionId, reason: p.reason ?? null });
      return true;
    });
    if (stored) ctx.areaChanged('ocpp:transaction-ended');
    return p.idTag ? { idTagInfo: ACCEPTED } : {};
  }),

  MeterValues: typed<MeterValues16>(async (p, ctx) => {
    const readings = readMeterValues16(p.meterValue);
    if (readings.length === 0) return {};
    await ctx.db.tx(async (q) => {
      // The transactionId links the values to the session; without one, the open session on the
      // connector (if any). connectorId 0 is the charge point's main meter.
      const session = p.transactionId !== undefined ? await findSession(q, ctx.stationId, String(p.transactionId)) : undefined;
      if (session) return ingestReadings(q, { nodeId: session.evseId, sessionId: session.id }, readings, ctx.meterCheck);
      if (p.connectorId === 0) return ingestReadings(q, { nodeId: ctx.stationId, sessionId: null }, readings);
      const evse = await findEvse(q, ctx.stationId, p.connectorId);
      if (!evse) {
        ctx.log.warn({ connectorId: p.connectorId, transactionId: p.transactionId ?? null }, 'MeterValues for a connector missing from the topology: not stored');
        return 0;
      }
      const open = p.transactionId === undefined ? await activeSessionOnEvse(q, evse.id) : undefined;
      return ingestReadings(q, { nodeId: evse.id, sessionId: open?.id ?? null }, readings, ctx.meterCheck);
    });
    return {};
  }),

  // ISO 15118 NotifyEVChargingNeeds / NotifyEVChargingSchedule in a DataTransfer; other vendors get
  // UnknownVendorId (OCPP 1.6 §4.3). Replaces the generic answer of notifications.ts for 1.6.
  DataTransfer: iso15118DataTransfer16,
};
