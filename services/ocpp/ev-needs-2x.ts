/**
 * OCPP 2.0.1 / 2.1 NotifyEVChargingNeeds (ISO 15118 charge parameter discovery): 2.0.1 K15, 2.1 K15
 * (ISO 15118-2) and K18/K19 (ISO 15118-20 scheduled / dynamic control mode, with V2X). The needs become
 * the session's demand (grid-adapters/ocpp/charging-needs.ts) and are committed before the answer.
 *
 * V2X (discharging) is stored only for 2.1 connections whose needs select a bidirectional transfer mode
 * with a discharge power (charging-needs.ts BPT_MODES: the EV can only select a BPT service the EVSE
 * offered, so that is the station saying its EVSE can discharge). 2.1 needs without it clear an earlier
 * V2X state of the session: the EV renegotiated to charging only. 2.0.1 needs cannot carry V2X.
 */
import { chargingNeedsToDemand, type ChargingNeeds21 } from '../../grid-adapters/ocpp/charging-needs.ts';
import type { ChargingNeeds201 } from '../../grid-adapters/ocpp/wire-201.ts';
import { audit } from '../store/audit-store.ts';
import { typed, type HandlerTable } from './handler-context.ts';
import { activeSessionOnEvse, setChargingNeeds, type ChargingNeedsUpdate } from './session-store.ts';
import { findEvse } from './station-store.ts';

interface NotifyEVChargingNeeds2x {
  evseId: number;
  maxScheduleTuples?: number;
  chargingNeeds: ChargingNeeds201 | ChargingNeeds21;
  /** 2.1: when the station received the needs (it may have been offline). */
  timestamp?: string;
}

export const evNeedsHandlers2x: HandlerTable = {
  NotifyEVChargingNeeds: typed<NotifyEVChargingNeeds2x>(async (p, ctx) => {
    const result = await ctx.db.tx(async (q) => {
      const evse = await findEvse(q, ctx.stationId, p.evseId);
      if (!evse) return { ok: false as const, reasonCode: 'UnknownEvse' };
      const session = await activeSessionOnEvse(q, evse.id);
      if (!session) return { ok: false as const, reasonCode: 'NoTransaction' };
      const demand = chargingNeedsToDemand(p.chargingNeeds, { voltageV: evse.voltageV, phases: evse.phases });
      const { v2x, ...rest } = demand;
      const update: ChargingNeedsUpdate = {
        ...rest,
        ...(ctx.version === '2.1' ? { v2x: v2x ?? null } : {}),
        ...(p.maxScheduleTuples === undefined ? {} : { maxScheduleTuples: p.maxScheduleTuples }),
      };
      await setChargingNeeds(q, session.id, update);
      await audit(q, `station:${ctx.stationId}`, 'ocpp.NotifyEVChargingNeeds', session.id, {
        ...update,
        requestedEnergyTransfer: p.chargingNeeds.requestedEnergyTransfer,
        ...(p.timestamp ? { receivedAt: p.timestamp } : {}),
      });
      return { ok: true as const, v2x: update.v2x ?? null };
    });
    if (!result.ok) {
      // K15: Rejected = the CSMS will not provide a schedule for these needs (nothing to attach them to).
      ctx.log.warn({ ocppEvseId: p.evseId, reasonCode: result.reasonCode }, 'NotifyEVChargingNeeds rejected');
      return { status: 'Rejected', statusInfo: { reasonCode: result.reasonCode } };
    }
    if (result.v2x) ctx.log.info({ ocppEvseId: p.evseId, v2x: result.v2x }, 'V2X charging needs stored');
    // K15 / K18 / K19: Accepted = a charging schedule follows: the re-allocation sends this EVSE a new TxProfile.
    ctx.areaChanged('ocpp:charging-needs');
    return { status: 'Accepted' };
  }),
};
