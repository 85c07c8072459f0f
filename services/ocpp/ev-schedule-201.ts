/**
 * OCPP 2.0.1 / 2.1 NotifyEVChargingSchedule (K17, ISO 15118): the EV tells which schedule it will
 * follow. gridflex checks it against the last TxProfile the station acknowledged for that EVSE:
 * - within the limits (tolerance OCPP_COMPLIANCE_TOLERANCE_KW) → Accepted;
 * - above them → Rejected (statusInfo.reasonCode "ExceedsLimits") and a re-plan, whose new TxProfile
 *   makes the station renegotiate the schedule with the EV (K17: the CSMS may send a new profile);
 * - no acknowledged TxProfile yet → Accepted: the station max profile still bounds the station.
 */
import { sentSchedule } from '../../grid-adapters/ocpp/composite.ts';
import { txSlot } from '../../grid-adapters/ocpp/profiles.ts';
import { checkEvSchedule, type EvSchedule } from '../../grid-adapters/iso15118/sa-schedules.ts';
import { audit } from '../store/audit-store.ts';
import { typed, type HandlerTable } from './handler-context.ts';

type NotifyEVChargingSchedule = EvSchedule & { evseId: number };

export const evScheduleHandlers2x: HandlerTable = {
  NotifyEVChargingSchedule: typed<NotifyEVChargingSchedule>(async (p, ctx) => {
    // The dispatch plan enqueues each profile with dedupe key `ocpp/<slot>`.
    const rows = await ctx.db.query<{ payload: unknown }>(
      `SELECT payload FROM outbox WHERE channel = 'ocpp' AND target = $1 AND dedupe_key = $2 AND action = 'SetChargingProfile' AND state = 'acked' ORDER BY id DESC LIMIT 1`,
      [ctx.stationId, `ocpp/${txSlot(ctx.stationId, p.evseId)}`],
    );
    const sent = rows[0] ? sentSchedule(rows[0].payload) : undefined;
    if (!sent) return { status: 'Accepted' };
    const cmp = checkEvSchedule(p, sent.schedule, { toleranceKw: ctx.config.OCPP_COMPLIANCE_TOLERANCE_KW });
    if (cmp.ok) return { status: 'Accepted' };
    await audit(ctx.db, `station:${ctx.stationId}`, 'ocpp.EVChargingScheduleRejected', ctx.stationId, { evseId: p.evseId, excessKw: cmp.maxExcessKw });
    ctx.log.warn({ evseId: p.evseId, excessKw: cmp.maxExcessKw }, 'EV charging schedule exceeds the TxProfile: rejected, re-planning');
    ctx.areaChanged('ocpp:ev-schedule-rejected');
    return { status: 'Rejected', statusInfo: { reasonCode: 'ExceedsLimits', additionalInfo: `exceeds the TxProfile by ${cmp.maxExcessKw} kW` } };
  }),
};
