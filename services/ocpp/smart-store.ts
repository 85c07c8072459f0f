/**
 * Smart-charging state per station (migration 008): capabilities read at boot, the security profile,
 * closed-loop compliance records and the non-compliance flag.
 */
import type { StationCapabilities } from '../../grid-adapters/ocpp/capabilities.ts';
import type { RateUnit } from '../../grid-adapters/ocpp/schedule.ts';
import type { Queryable } from '../store/db.ts';
import { toMsOrNull } from '../store/rows.ts';

export async function saveCapabilities(q: Queryable, stationId: string, version: string, c: StationCapabilities, raw: unknown): Promise<void> {
  await q.query(
    `INSERT INTO ocpp_station_capability (station_id, ocpp_version, max_periods, rate_units, max_stack_level, max_profiles, smart_charging, raw, read_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8, now())
     ON CONFLICT (station_id) DO UPDATE SET ocpp_version = EXCLUDED.ocpp_version, max_periods = EXCLUDED.max_periods,
       rate_units = EXCLUDED.rate_units, max_stack_level = EXCLUDED.max_stack_level, max_profiles = EXCLUDED.max_profiles,
       smart_charging = EXCLUDED.smart_charging, raw = EXCLUDED.raw, read_at = now()`,
    [stationId, version, c.maxPeriods ?? null, c.rateUnits ?? null, c.maxStackLevel ?? null, c.maxProfiles ?? null, c.smartCharging ?? null, raw === undefined ? null : JSON.stringify(raw)],
  );
}

/**
 * What the station reported at its last boot; `{}` when it never did (or reported nothing). For the
 * dispatch plan: `maxPeriods` → StationPlan.maxPeriods (via usableMaxPeriods), `rateUnits` →
 * StationPlan.unit (via preferredUnit), both in grid-adapters/ocpp/capabilities.ts.
 */
export async function stationCapabilities(q: Queryable, stationId: string): Promise<StationCapabilities> {
  const rows = await q.query<{ max_periods: number | null; rate_units: string[] | null; max_stack_level: number | null; max_profiles: number | null; smart_charging: boolean | null }>(
    `SELECT max_periods, rate_units, max_stack_level, max_profiles, smart_charging FROM ocpp_station_capability WHERE station_id = $1`,
    [stationId],
  );
  const r = rows[0];
  if (!r) return {};
  const c: StationCapabilities = {};
  if (r.max_periods !== null) c.maxPeriods = Number(r.max_periods);
  if (r.rate_units !== null) c.rateUnits = r.rate_units.filter((u): u is RateUnit => u === 'A' || u === 'W');
  if (r.max_stack_level !== null) c.maxStackLevel = Number(r.max_stack_level);
  if (r.max_profiles !== null) c.maxProfiles = Number(r.max_profiles);
  if (r.smart_charging !== null) c.smartCharging = r.smart_charging;
  return c;
}

export type SecurityProfile = 1 | 2 | 3;

/** The station's OCPP security profile; 1 when none was set. */
export async function stationSecurityProfile(q: Queryable, stationId: string): Promise<SecurityProfile> {
  const rows = await q.query<{ security_profile: number }>(`SELECT security_profile FROM ocpp_station_security WHERE station_id = $1`, [stationId]);
  const p = Number(rows[0]?.security_profile ?? 1);
  return p === 2 || p === 3 ? p : 1;
}

export async function setStationSecurityProfile(q: Queryable, stationId: string, profile: SecurityProfile): Promise<void> {
  if (![1, 2, 3].includes(profile)) throw new RangeError(`security profile must be 1, 2 or 3, got ${String(profile)}`);
  const rows = await q.query<{ kind: string }>('SELECT kind FROM topology_node WHERE id = $1', [stationId]);
  if (rows[0]?.kind !== 'station') throw new Error(`${stationId} is not a station in the topology`);
  await q.query(
    `INSERT INTO ocpp_station_security (station_id, security_profile) VALUES ($1, $2)
     ON CONFLICT (station_id) DO UPDATE SET security_profile = EXCLUDED.security_profile, updated_at = now()`,
    [stationId, profile],
  );
}

export interface ComplianceRecord {
  stationId: string;
  gridAreaId: string;
  ocppEvseId: number;
  kind: 'composite' | 'meter';
  ok: boolean;
  excessKw: number;
  detail?: unknown;
  atMs?: number;
}

export async function recordCompliance(q: Queryable, r: ComplianceRecord): Promise<void> {
  await q.query(
    `INSERT INTO ocpp_compliance (at, station_id, grid_area_id, ocpp_evse_id, kind, ok, excess_kw, detail) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
    [new Date(r.atMs ?? Date.now()), r.stationId, r.gridAreaId, r.ocppEvseId, r.kind, r.ok, r.excessKw, r.detail === undefined ? null : JSON.stringify(r.detail)],
  );
}

export interface ComplianceSummary {
  checks: number;
  deviations: number;
  maxExcessKw: number;
}

/** Compliance per station or per grid area since `sinceMs` (for the status page / admin API). */
export async function complianceSummary(q: Queryable, by: { stationId: string } | { gridAreaId: string }, sinceMs: number): Promise<ComplianceSummary> {
  const [col, val] = 'stationId' in by ? ['station_id', by.stationId] : ['grid_area_id', by.gridAreaId];
  const rows = await q.query<{ checks: string | number; deviations: string | number; max_excess: number | null }>(
    `SELECT count(*) AS checks, count(*) FILTER (WHERE NOT ok) AS deviations, max(excess_kw) AS max_excess
     FROM ocpp_compliance WHERE ${col} = $1 AND at >= $2`,
    [val, new Date(sinceMs)],
  );
  const r = rows[0]!;
  return { checks: Number(r.checks), deviations: Number(r.deviations), maxExcessKw: Number(r.max_excess ?? 0) };
}

export interface StationFlag {
  noncompliant: boolean;
  resends: number;
  reason: string | null;
  lastDeviationMs: number | null;
  flaggedMs: number | null;
}

export async function getStationFlag(q: Queryable, stationId: string): Promise<StationFlag | undefined> {
  const rows = await q.query<{ noncompliant: boolean; resends: number; reason: string | null; last_deviation_at: unknown; flagged_at: unknown }>(
    `SELECT noncompliant, resends, reason, last_deviation_at, flagged_at FROM ocpp_station_flag WHERE station_id = $1`,
    [stationId],
  );
  const r = rows[0];
  return r ? { noncompliant: r.noncompliant, resends: Number(r.resends), reason: r.reason, lastDeviationMs: toMsOrNull(r.last_deviation_at), flaggedMs: toMsOrNull(r.flagged_at) } : undefined;
}

/**
 * Counts a deviation: returns the number of re-sends so far (before this one). The caller re-sends
 * while that is below its limit and flags the station (flagStation) once it is reached.
 */
export async function countDeviation(q: Queryable, stationId: string, reason: string): Promise<number> {
  const rows = await q.query<{ resends: number }>(
    `INSERT INTO ocpp_station_flag (station_id, resends, reason, last_deviation_at) VALUES ($1, 1, $2, now())
     ON CONFLICT (station_id) DO UPDATE SET resends = ocpp_station_flag.resends + 1, reason = EXCLUDED.reason, last_deviation_at = now()
     RETURNING resends`,
    [stationId, reason],
  );
  return Number(rows[0]!.resends) - 1;
}

export async function flagStation(q: Queryable, stationId: string, reason: string): Promise<void> {
  await q.query(
    `INSERT INTO ocpp_station_flag (station_id, noncompliant, reason, flagged_at, last_deviation_at) VALUES ($1, true, $2, now(), now())
     ON CONFLICT (station_id) DO UPDATE SET noncompliant = true, reason = EXCLUDED.reason, flagged_at = COALESCE(ocpp_station_flag.flagged_at, now())`,
    [stationId, reason],
  );
}

/** A check that passed resets the re-send counter (the flag itself stays until the operator clears it). */
export async function resetResends(q: Queryable, stationId: string): Promise<void> {
  await q.query(`UPDATE ocpp_station_flag SET resends = 0 WHERE station_id = $1 AND resends <> 0`, [stationId]);
}

export async function clearStationFlag(q: Queryable, stationId: string): Promise<void> {
  await q.query(`DELETE FROM ocpp_station_flag WHERE station_id = $1`, [stationId]);
}
