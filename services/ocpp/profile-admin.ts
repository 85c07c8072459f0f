/**
 * Installed charging profiles on a connected station, asked for and cleared by gridflex:
 *
 * - getInstalledProfiles — OCPP 2.0.1 / 2.1 use case K09 "Get Charging Profiles": gridflex sends
 *   GetChargingProfilesRequest with a fresh `requestId`; the station answers `Accepted` (reports follow)
 *   or `NoProfiles`, then sends ReportChargingProfilesRequest messages which, per the schema, "SHALL
 *   contain the same value" of requestId, the last one with `tbc` false or absent ("false indicates
 *   that there are no further messages as part of this report"). The reports are collected per
 *   (station, requestId) until that last one, or until the time-out (then `complete: false`).
 *   OCPP 1.6 has no GetChargingProfiles (only GetCompositeSchedule, the combined result):
 *   `supported: false`, nothing is sent.
 * - clearChargingProfiles — use case K10 "Clear Charging Profile" (1.6 §5.5 ClearChargingProfile):
 *   one ClearChargingProfileRequest per profile id (2.x `chargingProfileId`, 1.6 `id`), so only
 *   gridflex's own ids are touched, never a profile another party installed. `Unknown` = the station
 *   did not have it.
 *
 * ReportChargingProfiles itself is answered `{}` (its response has no fields); a report for a
 * requestId nobody waits for (late, or from before a restart) is answered as well, and logged.
 */
import { isV2, type OcppVersion } from '../../grid-adapters/ocpp/profiles.ts';
import type { InstalledProfile } from '../../grid-adapters/ocpp/installed-profiles.ts';
import type { Queryable } from '../store/db.ts';
import { isRpcError, typed, type HandlerTable } from './handler-context.ts';

/** What gridflex needs of a connection to ask it something (StationLink fits). */
export interface ProfileLink {
  stationId: string;
  version: OcppVersion;
  call(method: string, params: unknown): Promise<unknown>;
}

export interface GetProfilesOptions {
  /** Only this EVSE (0 = the station itself); absent: every installed profile. */
  evseId?: number;
  /** ChargingProfileCriterionType filter; `{}` (no filter) by default. */
  criterion?: { chargingProfilePurpose?: string; stackLevel?: number; chargingProfileId?: number[]; chargingLimitSource?: string[] };
  /** How long to wait for the last report after the station accepted (ms). */
  reportTimeoutMs?: number;
}

export interface InstalledProfiles {
  /** false: OCPP 1.6, or the station answered the request with a CALLERROR (`error`). */
  supported: boolean;
  /** The GetChargingProfiles status (`Accepted`, `NoProfiles`). */
  status?: string;
  /** true when the station sent its last report (tbc false) or had no profiles. */
  complete: boolean;
  requestId?: number;
  profiles: InstalledProfile[];
  error?: string;
}

interface ReportChargingProfiles2x {
  requestId: number;
  chargingLimitSource: string;
  tbc?: boolean;
  evseId: number;
  chargingProfile: InstalledProfile['profile'][];
}

interface Waiting {
  profiles: InstalledProfile[];
  done(): void;
  cancel(): void;
}

export interface ProfileReports {
  /** ReportChargingProfiles handler (2.0.1 / 2.1 tables). */
  handlers: HandlerTable;
  getInstalledProfiles(link: ProfileLink, options?: GetProfilesOptions): Promise<InstalledProfiles>;
  /** Stops waiting for reports (shutdown): pending requests resolve with what they have, `complete: false`. */
  cancelAll(): void;
}

const DEFAULT_REPORT_TIMEOUT_MS = 30_000;

/** A CALLERROR as "<code>: <description>"; a time-out or dropped connection as its message. */
function describe(err: unknown): string {
  if (isRpcError(err)) return `${err.rpcErrorCode}: ${err.message}`;
  return err instanceof Error ? err.message || err.name : String(err);
}

export function createProfileReports(): ProfileReports {
  const waiting = new Map<string, Waiting>();
  // requestIds are unique within the process; starting from the clock keeps a late report from before a
  // restart from matching a new request.
  let nextRequestId = Math.floor(Date.now() / 1000) % 1_000_000_000;
  const key = (stationId: string, requestId: number) => `${stationId}\u0000${requestId}`;

  const handlers: HandlerTable = {
    ReportChargingProfiles: typed<ReportChargingProfiles2x>(async (p, ctx) => {
      const w = waiting.get(key(ctx.stationId, p.requestId));
      if (!w) {
        ctx.log.info({ requestId: p.requestId, profiles: p.chargingProfile.length }, 'ReportChargingProfiles for no pending request: ignored');
        return {};
      }
      for (const profile of p.chargingProfile) w.profiles.push({ evseId: p.evseId, chargingLimitSource: p.chargingLimitSource, profile });
      if (!p.tbc) w.done();
      return {};
    }),
  };

  async function getInstalledProfiles(link: ProfileLink, options: GetProfilesOptions = {}): Promise<InstalledProfiles> {
    if (!isV2(link.version)) return { supported: false, complete: true, profiles: [] };
    const requestId = nextRequestId++;
    const k = key(link.stationId, requestId);
    let finished!: (complete: boolean) => void;
    const last = new Promise<boolean>((resolve) => (finished = resolve));
    const w: Waiting = { profiles: [], done: () => finished(true), cancel: () => finished(false) };
    // Registered before the CALL: a report must never find nobody waiting.
    waiting.set(k, w);
    let timer: NodeJS.Timeout | undefined;
    try {
      let answer: { status?: string };
      try {
        answer = (await link.call('GetChargingProfiles', {
          requestId,
          chargingProfile: options.criterion ?? {},
          ...(options.evseId === undefined ? {} : { evseId: options.evseId }),
        })) as { status?: string };
      } catch (err) {
        return { supported: false, complete: false, requestId, profiles: [], error: describe(err) };
      }
      if (answer.status !== 'Accepted') return { supported: true, status: answer.status ?? 'unknown', complete: true, requestId, profiles: [] };
      const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), options.reportTimeoutMs ?? DEFAULT_REPORT_TIMEOUT_MS)));
      const complete = await Promise.race([last, timedOut]);
      return { supported: true, status: 'Accepted', complete, requestId, profiles: [...w.profiles] };
    } finally {
      clearTimeout(timer);
      waiting.delete(k);
    }
  }

  return {
    handlers,
    getInstalledProfiles,
    cancelAll: () => {
      for (const w of waiting.values()) w.cancel();
    },
  };
}

export interface ClearResult {
  id: number;
  /** `Accepted`, `Unknown`, or `error` when the station answered with a CALLERROR / not at all. */
  status: string;
  error?: string;
}

/** Clears these profile ids on the station, one ClearChargingProfile per id (K10; 1.6 §5.5). Never rejects. */
export async function clearChargingProfiles(link: ProfileLink, ids: readonly number[]): Promise<ClearResult[]> {
  const results: ClearResult[] = [];
  for (const id of ids) {
    try {
      const answer = (await link.call('ClearChargingProfile', isV2(link.version) ? { chargingProfileId: id } : { id })) as { status?: string };
      results.push({ id, status: answer.status ?? 'unknown' });
    } catch (err) {
      results.push({ id, status: 'error', error: describe(err) });
    }
  }
  return results;
}

/** The OCPP EVSE ids (ocppEvseId) of the station's EVSEs in the topology. */
export async function stationEvseIds(q: Queryable, stationId: string): Promise<number[]> {
  const rows = await q.query<{ ocpp_evse_id: number }>(
    `SELECT DISTINCT ocpp_evse_id FROM topology_node WHERE parent_id = $1 AND kind = 'evse' AND ocpp_evse_id IS NOT NULL ORDER BY ocpp_evse_id`,
    [stationId],
  );
  return rows.map((r) => Number(r.ocpp_evse_id));
}
