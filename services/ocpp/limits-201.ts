/**
 * External charging limits (OCPP 2.0.1 / 2.1 Smart Charging functional block K):
 *
 * - NotifyChargingLimit — use cases K11/K12 "Set / Update External Charging Limit" (with / without an
 *   ongoing transaction): "an external system on the Charging Station" (an EMS, the system operator =
 *   chargingLimitSource SO, …) set a limit; the station tells the CSMS. gridflex stores it
 *   (ocpp_external_limit, per station, evseId and source; a newer report of the same source replaces
 *   the older one), answers `{}` (the response has no status), and re-plans the grid area so the
 *   optimizer treats the limit as a cap (ocppExternalLimitEnvelopes, limit-store.ts).
 * - ClearedChargingLimit — use case K13 "Reset / Release External Charging Limit": the source released
 *   its limit; gridflex removes it (every EVSE of that source when evseId is absent) and re-plans.
 *
 * evseId absent or 0 = the station as a whole (2.1 schema text: "If absent or when zero, it applies to
 * the entire Charging Station"). A negative evseId (the 2.0.1 schema allows any integer; its text says
 * "evseId must be > 0") is refused with PropertyConstraintViolation and changes nothing.
 * OCPP 1.6 has no such messages (external limits are not reported to the Central System in 1.6).
 */
import { createRPCError } from 'ocpp-rpc';
import type { ReportedSchedule } from '../../grid-adapters/ocpp/external-limits.ts';
import { audit } from '../store/audit-store.ts';
import { typed, type HandlerTable } from './handler-context.ts';
import { clearExternalLimit, saveExternalLimit } from './limit-store.ts';

/** NotifyChargingLimitRequest, the fields gridflex uses (2.0.1; 2.1 adds isLocalGeneration). */
export interface NotifyChargingLimit2x {
  chargingLimit: { chargingLimitSource: string; isGridCritical?: boolean; isLocalGeneration?: boolean };
  chargingSchedule?: ReportedSchedule[];
  evseId?: number;
}

export interface ClearedChargingLimit2x {
  chargingLimitSource: string;
  evseId?: number;
}

function checkEvseId(evseId: number | undefined): number | undefined {
  if (evseId !== undefined && evseId < 0) throw createRPCError('PropertyConstraintViolation', 'evseId must not be negative', {});
  return evseId;
}

export const limitHandlers2x: HandlerTable = {
  NotifyChargingLimit: typed<NotifyChargingLimit2x>(async (p, ctx) => {
    const evseId = checkEvseId(p.evseId) ?? 0;
    const source = p.chargingLimit.chargingLimitSource;
    await ctx.db.tx(async (q) => {
      await saveExternalLimit(q, {
        stationId: ctx.stationId,
        evseId,
        source,
        isGridCritical: p.chargingLimit.isGridCritical ?? null,
        isLocalGeneration: p.chargingLimit.isLocalGeneration ?? null,
        schedules: p.chargingSchedule ?? [],
      });
      await audit(q, `station:${ctx.stationId}`, 'ocpp.NotifyChargingLimit', ctx.stationId, {
        evseId,
        source,
        isGridCritical: p.chargingLimit.isGridCritical ?? null,
        schedules: p.chargingSchedule?.length ?? 0,
      });
    });
    ctx.log.info({ evseId, source, isGridCritical: p.chargingLimit.isGridCritical ?? null }, 'external charging limit reported');
    // Stored and committed: re-plan the area with the new cap (after the commit, as the context asks).
    ctx.areaChanged('ocpp:external-limit');
    return {};
  }),

  ClearedChargingLimit: typed<ClearedChargingLimit2x>(async (p, ctx) => {
    const evseId = checkEvseId(p.evseId);
    const removed = await ctx.db.tx(async (q) => {
      const n = await clearExternalLimit(q, ctx.stationId, p.chargingLimitSource, evseId);
      await audit(q, `station:${ctx.stationId}`, 'ocpp.ClearedChargingLimit', ctx.stationId, { evseId: evseId ?? null, source: p.chargingLimitSource, removed: n });
      return n;
    });
    ctx.log.info({ evseId: evseId ?? null, source: p.chargingLimitSource, removed }, 'external charging limit cleared');
    if (removed > 0) ctx.areaChanged('ocpp:external-limit-cleared');
    return {};
  }),
};
