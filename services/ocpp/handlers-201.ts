/**
 * OCPP 2.0.1 station-level messages: BootNotification, Heartbeat, StatusNotification, Authorize,
 * MeterValues. Transactions and ISO 15118 charging needs are in transaction-201.ts (needs, with 2.1 V2X:
 * ev-needs-2x.ts); 2.1-only messages (priority charging) in priority-charging-21.ts.
 */
import { readMeterValues201 } from '../../grid-adapters/ocpp/meter-values.ts';
import type { Authorize201, BootNotification201, MeterValues201, StatusNotification201 } from '../../grid-adapters/ocpp/wire-201.ts';
import { audit } from '../store/audit-store.ts';
import { typed, type HandlerTable } from './handler-context.ts';
import { ingestReadings } from './meter-ingest.ts';
import { activeSessionOnEvse } from './session-store.ts';
import { findEvse, recordBoot, setEvseStatus, touchStation } from './station-store.ts';
import { transactionHandlers201 } from './transaction-201.ts';

const now = () => new Date().toISOString();

export const handlers201: HandlerTable = {
  // OCPP 2.0.1 B01: a station that got through the authenticated upgrade is known, so it is Accepted
  // (no Pending state); `interval` is the heartbeat interval it is to use.
  BootNotification: typed<BootNotification201>(async (p, ctx) => {
    await ctx.db.tx(async (q) => {
      await recordBoot(q, ctx.stationId, { version: ctx.version, vendor: p.chargingStation.vendorName, model: p.chargingStation.model, firmware: p.chargingStation.firmwareVersion ?? null });
      await audit(q, `station:${ctx.stationId}`, 'ocpp.BootNotification', ctx.stationId, { reason: p.reason, vendor: p.chargingStation.vendorName, model: p.chargingStation.model });
    });
    ctx.log.info({ reason: p.reason, vendor: p.chargingStation.vendorName, model: p.chargingStation.model }, 'station booted');
    // A rebooted station has lost its charging profiles: read its capabilities, set the failsafe
    // TxDefaultProfile, then re-plan and re-send them (after this answer is sent).
    ctx.booted();
    return { currentTime: now(), interval: ctx.config.OCPP_HEARTBEAT_INTERVAL_S, status: 'Accepted' };
  }),

  Heartbeat: typed<Record<string, never>>(async (_p, ctx) => {
    await touchStation(ctx.db, ctx.stationId);
    return { currentTime: now() };
  }),

  StatusNotification: typed<StatusNotification201>(async (p, ctx) => {
    await setEvseStatus(ctx.db, ctx.stationId, p.evseId, { status: p.connectorStatus, at: p.timestamp, connectorId: p.connectorId });
    return {};
  }),

  // Authorization lists are future work: every idToken is Accepted, and charging is then governed by
  // the profiles this CSMS sends. Authorize responses carry idTokenInfo (C01).
  Authorize: typed<Authorize201>(async (p, ctx) => {
    ctx.log.debug({ idTokenType: p.idToken.type }, 'Authorize: accepted (no authorization list yet)');
    return { idTokenInfo: { status: 'Accepted' } };
  }),

  // Meter values outside a transaction message (J01). evseId 0 is the station's main meter.
  MeterValues: typed<MeterValues201>(async (p, ctx) => {
    const readings = readMeterValues201(p.meterValue);
    if (readings.length === 0) return {};
    await ctx.db.tx(async (q) => {
      if (p.evseId === 0) return ingestReadings(q, { nodeId: ctx.stationId, sessionId: null }, readings);
      const evse = await findEvse(q, ctx.stationId, p.evseId);
      if (!evse) {
        ctx.log.warn({ ocppEvseId: p.evseId }, 'MeterValues for an EVSE missing from the topology: not stored');
        return 0;
      }
      const session = await activeSessionOnEvse(q, evse.id);
      return ingestReadings(q, { nodeId: evse.id, sessionId: session?.id ?? null }, readings, ctx.meterCheck);
    });
    return {};
  }),

  ...transactionHandlers201,
};
