/**
 * OCPP 2.1 Dynamic TxProfiles in the dispatch plan: whether a re-plan sends the whole profile again
 * (SetChargingProfile) or only its new values (UpdateDynamicSchedule, use case K28 "Dynamic charging
 * profiles from CSMS", scenario #1 "Updates sent by CSMS").
 *
 * The rule. For a slot (station, EVSE) whose new TxProfile is Dynamic, UpdateDynamicSchedule
 * {chargingProfileId, scheduleUpdate: setpoint, limit, dischargeLimit} is sent instead when ALL hold:
 * 1. the newest SetChargingProfile of that slot in the outbox was acknowledged (the station has it; a
 *    pending or rejected one may not be installed, and an update of a missing profile is refused);
 * 2. it was acknowledged after the station's last BootNotification (a reboot loses the profiles);
 * 3. it differs from the new one only in its period's values: same kind (Dynamic), profile id, EVSE,
 *    transactionId, unit, phases, operationMode, duration, maxOfflineDuration (v2x-21.ts
 *    onlyDynamicValuesChanged): everything else can only change by a new SetChargingProfile;
 * 4. the newest message of the slot is not an UpdateDynamicSchedule the station rejected (or that could
 *    not be delivered): the station evidently lacks the profile, so it is installed again.
 * Otherwise the full SetChargingProfile is sent. Both use the slot's dedupe key `ocpp/<slot>`, so a newer
 * message supersedes an undelivered older one of the slot, and the outbox delivers a station's messages
 * in id order: an update never overtakes the profile it updates. An update is sent at every re-plan even
 * when the values did not change, because each one renews dynUpdateTime (K28.FR.09) and keeps the profile
 * valid under its duration (K28.FR.13).
 */
import { dynamicScheduleUpdate21, onlyDynamicValuesChanged } from '../../grid-adapters/ocpp/v2x-21.ts';
import type { Queryable } from '../store/db.ts';

export interface InstalledDynamic {
  /** Payload, state and acknowledgement time of the newest SetChargingProfile of the slot. */
  lastSet?: { payload: unknown; state: string; ackedMs: number | null };
  /** Action and state of the newest message of the slot, whatever its action. */
  last?: { action: string; state: string };
}

/** The outbox state of these slots (dedupe keys), two queries for the whole area. */
export async function installedDynamicProfiles(q: Queryable, keys: string[]): Promise<Map<string, InstalledDynamic>> {
  const out = new Map<string, InstalledDynamic>();
  const sets = await q.query<{ dedupe_key: string; payload: unknown; state: string; updated_at: unknown }>(
    `SELECT DISTINCT ON (dedupe_key) dedupe_key, payload, state, updated_at FROM outbox
     WHERE channel = 'ocpp' AND dedupe_key = ANY($1::text[]) AND action = 'SetChargingProfile'
     ORDER BY dedupe_key, id DESC`,
    [keys],
  );
  for (const r of sets) {
    out.set(r.dedupe_key, { lastSet: { payload: r.payload, state: r.state, ackedMs: r.state === 'acked' && r.updated_at !== null ? new Date(r.updated_at as string | Date).getTime() : null } });
  }
  const lasts = await q.query<{ dedupe_key: string; action: string; state: string }>(
    `SELECT DISTINCT ON (dedupe_key) dedupe_key, action, state FROM outbox
     WHERE channel = 'ocpp' AND dedupe_key = ANY($1::text[]) AND state <> 'superseded'
     ORDER BY dedupe_key, id DESC`,
    [keys],
  );
  for (const r of lasts) out.set(r.dedupe_key, { ...out.get(r.dedupe_key), last: { action: r.action, state: r.state } });
  return out;
}

/** The message to send for a new Dynamic TxProfile `next` (see the rule in the file comment). */
export function dynamicOrUpdate(next: object, installed: InstalledDynamic | undefined, lastBootMs: number | null): { action: string; payload: object } {
  const set = installed?.lastSet;
  const lastFailedUpdate = installed?.last?.action === 'UpdateDynamicSchedule' && (installed.last.state === 'rejected' || installed.last.state === 'failed');
  const usable =
    set !== undefined && set.state === 'acked' && set.ackedMs !== null && (lastBootMs === null || set.ackedMs > lastBootMs) && !lastFailedUpdate && onlyDynamicValuesChanged(set.payload, next);
  return usable ? { action: 'UpdateDynamicSchedule', payload: dynamicScheduleUpdate21(next) } : { action: 'SetChargingProfile', payload: next };
}
