/**
 * Charging sessions (charging_session) as OCPP reports them, and the demands the orchestrator reads.
 *
 * A session is keyed by (station_id, transaction_id); its id is derived from that key, so a repeated
 * start (a retransmitted or offline-queued message) finds the same row instead of creating another.
 * Units: energy in kWh, power in kW, times as epoch ms (timestamptz in the database).
 */
import type { V2xDemand } from '../../grid-adapters/ocpp/charging-needs.ts';
import type { ChargingDemand } from '../../optimizer/model.ts';
import type { Queryable } from '../store/db.ts';
import { iso, numOrUndef, toMs, toMsOrNull } from '../store/rows.ts';

export interface SessionRow {
  id: string;
  stationId: string;
  evseId: string;
  transactionId: string;
  idToken: string | null;
  startedMs: number;
  stoppedMs: number | null;
  departureMs: number | null;
  energyNeededKwh: number | null;
  energyDeliveredKwh: number;
  /** Energy the session exported (V2X discharging), from Energy.Active.Export.Register (kWh). */
  energyExportedKwh: number;
  maxPowerKw: number | null;
  minPowerKw: number | null;
  meterStartWh: number | null;
  stopReason: string | null;
  /** OCPP 2.1 V2X state in the session's frame (charging-needs.ts v2xToDemand), null = no V2X. */
  v2x: (V2xDemand & { socDeliveredKwh: number; socExportedKwh: number }) | null;
  controlMode: string | null;
  mobilityNeedsMode: string | null;
  /** OCPP 2.1 priority charging is active for this session. */
  priority: boolean;
}

interface Row {
  id: string;
  station_id: string;
  evse_id: string;
  transaction_id: string;
  id_token: string | null;
  started_at: unknown;
  stopped_at: unknown;
  departure_at: unknown;
  energy_needed_kwh: number | null;
  energy_delivered_kwh: number;
  energy_exported_kwh: number;
  max_power_kw: number | null;
  min_power_kw: number | null;
  meter_start_wh: number | null;
  stop_reason: string | null;
  v2x_max_discharge_kw: number | null;
  v2x_min_soc_kwh: number | null;
  v2x_soc_kwh: number | null;
  v2x_capacity_kwh: number | null;
  v2x_soc_delivered_kwh: number | null;
  v2x_soc_exported_kwh: number | null;
  control_mode: string | null;
  mobility_needs_mode: string | null;
  priority: boolean;
}

const COLS =
  'id, station_id, evse_id, transaction_id, id_token, started_at, stopped_at, departure_at, energy_needed_kwh, energy_delivered_kwh, energy_exported_kwh, max_power_kw, min_power_kw, meter_start_wh, stop_reason, ' +
  'v2x_max_discharge_kw, v2x_min_soc_kwh, v2x_soc_kwh, v2x_capacity_kwh, v2x_soc_delivered_kwh, v2x_soc_exported_kwh, control_mode, mobility_needs_mode, priority';

const num = (v: number | null) => (v === null ? null : Number(v));

function fromRow(r: Row): SessionRow {
  return {
    id: r.id,
    stationId: r.station_id,
    evseId: r.evse_id,
    transactionId: r.transaction_id,
    idToken: r.id_token,
    startedMs: toMs(r.started_at),
    stoppedMs: toMsOrNull(r.stopped_at),
    departureMs: toMsOrNull(r.departure_at),
    energyNeededKwh: r.energy_needed_kwh === null ? null : Number(r.energy_needed_kwh),
    energyDeliveredKwh: Number(r.energy_delivered_kwh),
    energyExportedKwh: Number(r.energy_exported_kwh),
    maxPowerKw: r.max_power_kw === null ? null : Number(r.max_power_kw),
    minPowerKw: r.min_power_kw === null ? null : Number(r.min_power_kw),
    meterStartWh: r.meter_start_wh === null ? null : Number(r.meter_start_wh),
    stopReason: r.stop_reason,
    v2x:
      r.v2x_max_discharge_kw === null || r.v2x_min_soc_kwh === null || r.v2x_soc_kwh === null || r.v2x_capacity_kwh === null
        ? null
        : {
            maxDischargeKw: Number(r.v2x_max_discharge_kw),
            minSocKwh: Number(r.v2x_min_soc_kwh),
            socKwh: Number(r.v2x_soc_kwh),
            capacityKwh: Number(r.v2x_capacity_kwh),
            socDeliveredKwh: num(r.v2x_soc_delivered_kwh) ?? 0,
            // Needs stored before migration 018 have no exported baseline: 0 = everything exported counts.
            socExportedKwh: num(r.v2x_soc_exported_kwh) ?? 0,
          },
    controlMode: r.control_mode,
    mobilityNeedsMode: r.mobility_needs_mode,
    priority: r.priority === true,
  };
}

export function sessionIdOf(stationId: string, transactionId: string): string {
  return `ocpp:${stationId}:${transactionId}`;
}

export interface SessionStart {
  stationId: string;
  evseId: string;
  transactionId: string;
  idToken?: string | null;
  startedMs: number;
  meterStartWh?: number | null;
}

/**
 * Creates the session, or returns the existing one for the same (station, transaction). Any other
 * session still open on the same EVSE is closed at this start: a station never charges two
 * transactions on one EVSE, so an open one means its end was lost, and it must not be planned for.
 */
export async function startSession(q: Queryable, s: SessionStart): Promise<{ session: SessionRow; created: boolean }> {
  const id = sessionIdOf(s.stationId, s.transactionId);
  const inserted = await q.query<Row>(
    `INSERT INTO charging_session (id, station_id, evse_id, transaction_id, id_token, started_at, meter_start_wh)
     VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7)
     ON CONFLICT (station_id, transaction_id) DO NOTHING
     RETURNING ${COLS}`,
    [id, s.stationId, s.evseId, s.transactionId, s.idToken ?? null, iso(s.startedMs), s.meterStartWh ?? null],
  );
  if (inserted[0]) {
    await q.query(
      `UPDATE charging_session SET stopped_at = $3::timestamptz, stop_reason = 'SupersededOnEvse'
       WHERE evse_id = $1 AND id <> $2 AND stopped_at IS NULL AND started_at <= $3::timestamptz`,
      [s.evseId, id, iso(s.startedMs)],
    );
    return { session: fromRow(inserted[0]), created: true };
  }
  const existing = await findSession(q, s.stationId, s.transactionId);
  if (!existing) throw new Error(`session ${id} conflicts but cannot be read`);
  return { session: existing, created: false };
}

export async function findSession(q: Queryable, stationId: string, transactionId: string): Promise<SessionRow | undefined> {
  const rows = await q.query<Row>(`SELECT ${COLS} FROM charging_session WHERE station_id = $1 AND transaction_id = $2`, [stationId, transactionId]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** The newest open session on an EVSE node. */
export async function activeSessionOnEvse(q: Queryable, evseId: string): Promise<SessionRow | undefined> {
  const rows = await q.query<Row>(`SELECT ${COLS} FROM charging_session WHERE evse_id = $1 AND stopped_at IS NULL ORDER BY started_at DESC, id DESC LIMIT 1`, [evseId]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Closes a session (idempotent: a second stop keeps the first stop time). */
export async function stopSession(q: Queryable, sessionId: string, stoppedMs: number, reason: string | null): Promise<void> {
  await q.query(
    `UPDATE charging_session SET stopped_at = COALESCE(stopped_at, GREATEST(started_at, $2::timestamptz)), stop_reason = COALESCE(stop_reason, $3) WHERE id = $1`,
    [sessionId, iso(stoppedMs), reason],
  );
}

/**
 * Updates the delivered energy from an Energy.Active.Import.Register reading (Wh). The first reading
 * of a session without a meter start becomes its baseline. Delivered energy never decreases, so a
 * late (out-of-order) reading cannot undo a newer one.
 */
export async function recordEnergyRegister(q: Queryable, sessionId: string, registerWh: number): Promise<void> {
  await q.query(
    `UPDATE charging_session SET meter_start_wh = COALESCE(meter_start_wh, $2::float8),
       energy_delivered_kwh = GREATEST(energy_delivered_kwh, ($2::float8 - COALESCE(meter_start_wh, $2::float8)) / 1000.0)
     WHERE id = $1`,
    [sessionId, registerWh],
  );
}

/**
 * Updates the exported energy from an Energy.Active.Export.Register reading (Wh), as recordEnergyRegister
 * does for the import register. 1.6 meterStart is an import register and a 2.x Started event need not
 * carry the export register, so the session's first export reading is its baseline; exported energy
 * never decreases.
 */
export async function recordExportRegister(q: Queryable, sessionId: string, registerWh: number): Promise<void> {
  await q.query(
    `UPDATE charging_session SET export_meter_start_wh = COALESCE(export_meter_start_wh, $2::float8),
       energy_exported_kwh = GREATEST(energy_exported_kwh, ($2::float8 - COALESCE(export_meter_start_wh, $2::float8)) / 1000.0)
     WHERE id = $1`,
    [sessionId, registerWh],
  );
}

export interface ChargingNeedsUpdate {
  departureMs?: number;
  /** Energy the EV still asks for now (kWh). */
  energyKwh?: number;
  maxPowerKw?: number;
  minPowerKw?: number;
  /**
   * OCPP 2.1 V2X state as reported now; `null` = the EV/EVSE may not discharge (clears an earlier one),
   * undefined = leave as stored (2.0.1 needs say nothing about V2X).
   */
  v2x?: V2xDemand | null;
  controlMode?: string;
  mobilityNeedsMode?: string;
  /** ISO 15118-2 MaxEntriesSAScheduleTuple (NotifyEVChargingNeeds.maxScheduleTuples). */
  maxScheduleTuples?: number;
}

/**
 * Stores what the EV announced (ISO 15118 via NotifyEVChargingNeeds). energy_needed_kwh is the
 * session's total need, and the demand is need − (delivered − exported); the EV reports what it still
 * needs NOW, so the net energy already delivered is added back in. Likewise the V2X SoC is stored with the energy delivered
 * and exported at that moment, so later meter readings move it (loadActiveDemands).
 */
export async function setChargingNeeds(q: Queryable, sessionId: string, u: ChargingNeedsUpdate): Promise<void> {
  const v = u.v2x;
  await q.query(
    `UPDATE charging_session SET
       departure_at = COALESCE($2::timestamptz, departure_at),
       energy_needed_kwh = COALESCE($3::float8 + energy_delivered_kwh - energy_exported_kwh, energy_needed_kwh),
       max_power_kw = COALESCE($4::float8, max_power_kw),
       min_power_kw = COALESCE($5::float8, min_power_kw),
       v2x_max_discharge_kw = CASE WHEN $6::boolean THEN $7::float8 ELSE v2x_max_discharge_kw END,
       v2x_min_soc_kwh = CASE WHEN $6::boolean THEN $8::float8 ELSE v2x_min_soc_kwh END,
       v2x_soc_kwh = CASE WHEN $6::boolean THEN $9::float8 ELSE v2x_soc_kwh END,
       v2x_capacity_kwh = CASE WHEN $6::boolean THEN $10::float8 ELSE v2x_capacity_kwh END,
       v2x_soc_delivered_kwh = CASE WHEN $6::boolean THEN energy_delivered_kwh ELSE v2x_soc_delivered_kwh END,
       v2x_soc_exported_kwh = CASE WHEN $6::boolean THEN energy_exported_kwh ELSE v2x_soc_exported_kwh END,
       control_mode = COALESCE($11::text, control_mode),
       mobility_needs_mode = COALESCE($12::text, mobility_needs_mode),
       max_schedule_tuples = COALESCE($13::integer, max_schedule_tuples)
     WHERE id = $1`,
    [
      sessionId, u.departureMs === undefined ? null : iso(u.departureMs), u.energyKwh ?? null, u.maxPowerKw ?? null, u.minPowerKw ?? null,
      v !== undefined, v?.maxDischargeKw ?? null, v?.minSocKwh ?? null, v?.socKwh ?? null, v?.capacityKwh ?? null,
      u.controlMode ?? null, u.mobilityNeedsMode ?? null, u.maxScheduleTuples ?? null,
    ],
  );
}

/** OCPP 2.1 priority charging on or off for a session (NotifyPriorityCharging, Accepted UsePriorityCharging). */
export async function setSessionPriority(q: Queryable, sessionId: string, priority: boolean): Promise<void> {
  await q.query(`UPDATE charging_session SET priority = $2 WHERE id = $1`, [sessionId, priority]);
}

/** Next OCPP 1.6 transaction id (integer), from a database sequence: unique across stations and instances. */
export async function nextTransactionId16(q: Queryable): Promise<number> {
  const rows = await q.query<{ id: number }>(`SELECT nextval('ocpp16_transaction_id')::int AS id`);
  return Number(rows[0]!.id);
}

export type ActiveDemand = ChargingDemand & { stationId: string; transactionId: string };

/**
 * The demands of the open sessions on EVSEs of a grid area, one per EVSE (the newest when a stale one
 * is still open):
 * - arrivalMs = started_at;
 * - departureMs = departure_at, else started_at + defaults.hours; when that is already past, now + 1 h,
 *   so an EV still plugged in keeps getting a schedule;
 * - energyKwh = max(0, (energy_needed_kwh ?? defaults.energyKwh) − (energy_delivered_kwh − energy_exported_kwh)):
 *   energy discharged for V2X has to be charged again;
 * - maxPowerKw / minPowerKw when the session knows them (ISO 15118);
 * - v2g (OCPP 2.1 V2X sessions, while the station's connection is 2.1): the stored frame, with the SoC
 *   moved by the net energy since it was reported (delivered − exported, from the import and export
 *   registers) and kept within [0, capacity]. Grid-side energy: conversion losses are not modelled, so
 *   the estimate drifts slightly until the EV reports new needs (ISO 15118-20 renegotiation);
 * - priority when priority charging is active.
 */
export async function loadActiveDemands(
  q: Queryable,
  gridAreaId: string,
  nowMs: number,
  defaults: { energyKwh: number; hours: number },
): Promise<ActiveDemand[]> {
  // V2X only while the station speaks OCPP 2.1: a station that came back on 2.0.1 / 1.6 cannot be sent a
  // discharge, so its sessions must not be planned one.
  const rows = await q.query<Row & { v2x_allowed: boolean | null }>(
    `SELECT ${COLS.split(', ').map((c) => 's.' + c).join(', ')}, st.ocpp_version IN ('2.1', 'ocpp2.1') AS v2x_allowed
     FROM charging_session s JOIN topology_node e ON e.id = s.evse_id
     LEFT JOIN station_state st ON st.station_id = s.station_id
     WHERE s.stopped_at IS NULL AND e.grid_area_id = $1 AND e.kind = 'evse'
     ORDER BY s.evse_id, s.started_at DESC, s.id DESC`,
    [gridAreaId],
  );
  const out: ActiveDemand[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    const s = fromRow(r);
    if (seen.has(s.evseId)) continue;
    seen.add(s.evseId);
    let departureMs = s.departureMs ?? s.startedMs + defaults.hours * 3_600_000;
    if (departureMs <= nowMs) departureMs = nowMs + 3_600_000;
    const d: ActiveDemand = {
      sessionId: s.id,
      evseId: s.evseId,
      stationId: s.stationId,
      transactionId: s.transactionId,
      arrivalMs: s.startedMs,
      departureMs,
      energyKwh: Math.max(0, (s.energyNeededKwh ?? defaults.energyKwh) - (s.energyDeliveredKwh - s.energyExportedKwh)),
    };
    const maxKw = numOrUndef(s.maxPowerKw);
    const minKw = numOrUndef(s.minPowerKw);
    if (maxKw !== undefined) d.maxPowerKw = maxKw;
    if (minKw !== undefined) d.minPowerKw = minKw;
    if (s.v2x && r.v2x_allowed === true) {
      const netSinceKwh = s.energyDeliveredKwh - s.v2x.socDeliveredKwh - (s.energyExportedKwh - s.v2x.socExportedKwh);
      const soc = Math.min(s.v2x.capacityKwh, Math.max(0, s.v2x.socKwh + netSinceKwh));
      d.v2g = { maxDischargeKw: s.v2x.maxDischargeKw, minSocKwh: s.v2x.minSocKwh, socKwh: soc, capacityKwh: s.v2x.capacityKwh };
    }
    if (s.priority) d.priority = true;
    out.push(d);
  }
  return out;
}

/** The running transaction per EVSE node of a station (the newest open session per EVSE). */
export async function activeTransactionsByEvse(q: Queryable, stationId: string): Promise<Map<string, string>> {
  const rows = await q.query<{ evse_id: string; transaction_id: string }>(
    `SELECT evse_id, transaction_id FROM charging_session WHERE station_id = $1 AND stopped_at IS NULL ORDER BY evse_id, started_at DESC, id DESC`,
    [stationId],
  );
  const out = new Map<string, string>();
  for (const r of rows) if (!out.has(r.evse_id)) out.set(r.evse_id, r.transaction_id);
  return out;
}
