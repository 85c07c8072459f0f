/**
 * OCPP station connection state (station_state) and the lookups the CSMS needs from the topology.
 * Every write is an upsert: a StatusNotification may arrive before the connect bookkeeping is done.
 */
import type { Queryable } from '../store/db.ts';
import { toMsOrNull } from '../store/rows.ts';

export interface StationIdentity {
  stationId: string;
  gridAreaId: string;
}

/** The station as the CSMS authenticates it: a topology node of kind 'station'. */
export async function findStation(q: Queryable, stationId: string): Promise<StationIdentity | undefined> {
  const rows = await q.query<{ id: string; grid_area_id: string }>(`SELECT id, grid_area_id FROM topology_node WHERE id = $1 AND kind = 'station'`, [stationId]);
  const r = rows[0];
  return r ? { stationId: r.id, gridAreaId: r.grid_area_id } : undefined;
}

export interface EvseRef {
  /** Topology node id of the EVSE. */
  id: string;
  ocppEvseId: number;
  voltageV: number | null;
  phases: number | null;
}

/**
 * The EVSE under a station with the given OCPP evse id (2.0.1 evseId / 1.6 connectorId). Voltage and
 * phases fall back to the station's when the EVSE row does not set them.
 */
export async function findEvse(q: Queryable, stationId: string, ocppEvseId: number): Promise<EvseRef | undefined> {
  const rows = await q.query<{ id: string; ocpp_evse_id: number; voltage_v: number | null; phases: number | null }>(
    `SELECT e.id, e.ocpp_evse_id, COALESCE(e.voltage_v, s.voltage_v) AS voltage_v, COALESCE(e.phases, s.phases) AS phases
     FROM topology_node e JOIN topology_node s ON s.id = e.parent_id
     WHERE e.parent_id = $1 AND e.kind = 'evse' AND e.ocpp_evse_id = $2
     ORDER BY e.id LIMIT 1`,
    [stationId, ocppEvseId],
  );
  const r = rows[0];
  return r ? { id: r.id, ocppEvseId: Number(r.ocpp_evse_id), voltageV: r.voltage_v, phases: r.phases } : undefined;
}

/**
 * The station is connected to this instance (`instanceId`: random per process, see csms.ts): it
 * becomes the owner whose dispatcher alone claims the station's OCPP messages (migration 017).
 */
export async function markConnected(q: Queryable, stationId: string, version: string, instanceId: string): Promise<void> {
  await q.query(
    `INSERT INTO station_state (station_id, ocpp_version, connected, connected_instance, last_seen_at) VALUES ($1, $2, true, $3, now())
     ON CONFLICT (station_id) DO UPDATE SET ocpp_version = EXCLUDED.ocpp_version, connected = true, connected_instance = EXCLUDED.connected_instance, last_seen_at = now()`,
    [stationId, version, instanceId],
  );
}

/**
 * The station's connection to `instanceId` closed. Only the owner clears the state: when the station
 * has meanwhile reconnected to another instance (this one's socket was half-dead and closed late),
 * the row already names the new owner and stays as it is. Returns whether it was still ours.
 */
export async function markDisconnected(q: Queryable, stationId: string, instanceId: string): Promise<boolean> {
  const rows = await q.query(
    `UPDATE station_state SET connected = false, connected_instance = NULL, last_seen_at = now()
     WHERE station_id = $1 AND (connected_instance = $2 OR connected_instance IS NULL) RETURNING station_id`,
    [stationId, instanceId],
  );
  return rows.length > 0;
}

export async function touchStation(q: Queryable, stationId: string): Promise<void> {
  await q.query(
    `INSERT INTO station_state (station_id, connected, last_seen_at) VALUES ($1, true, now())
     ON CONFLICT (station_id) DO UPDATE SET last_seen_at = now()`,
    [stationId],
  );
}

export async function recordBoot(q: Queryable, stationId: string, b: { version: string; vendor: string; model: string; firmware: string | null }): Promise<void> {
  await q.query(
    `INSERT INTO station_state (station_id, ocpp_version, vendor, model, firmware, connected, last_seen_at, last_boot_at)
     VALUES ($1, $2, $3, $4, $5, true, now(), now())
     ON CONFLICT (station_id) DO UPDATE SET ocpp_version = EXCLUDED.ocpp_version, vendor = EXCLUDED.vendor, model = EXCLUDED.model,
       firmware = EXCLUDED.firmware, connected = true, last_seen_at = now(), last_boot_at = now()`,
    [stationId, b.version, b.vendor, b.model, b.firmware],
  );
}

export interface EvseStatus {
  status: string;
  /** When the station says the status changed (ISO 8601). */
  at: string;
  connectorId?: number;
  errorCode?: string;
  info?: string;
}

/**
 * Stores the latest connector status of one EVSE under status_by_evse[<ocpp evse id>] (1.6: the
 * connector id; 0 = the whole charge point). The jsonb merge is one atomic statement, so notifications
 * for different EVSEs arriving together do not overwrite each other.
 */
export async function setEvseStatus(q: Queryable, stationId: string, ocppEvseId: number, s: EvseStatus): Promise<void> {
  await q.query(
    `INSERT INTO station_state (station_id, connected, last_seen_at, status_by_evse) VALUES ($1, true, now(), jsonb_build_object($2::text, $3::jsonb))
     ON CONFLICT (station_id) DO UPDATE SET status_by_evse = station_state.status_by_evse || jsonb_build_object($2::text, $3::jsonb), last_seen_at = now()`,
    [stationId, String(ocppEvseId), JSON.stringify(s)],
  );
}

export interface StationState {
  stationId: string;
  ocppVersion: string | null;
  vendor: string | null;
  model: string | null;
  firmware: string | null;
  connected: boolean;
  lastSeenMs: number | null;
  lastBootMs: number | null;
  statusByEvse: Record<string, EvseStatus>;
}

export async function getStationState(q: Queryable, stationId: string): Promise<StationState | undefined> {
  const rows = await q.query<{
    station_id: string;
    ocpp_version: string | null;
    vendor: string | null;
    model: string | null;
    firmware: string | null;
    connected: boolean;
    last_seen_at: unknown;
    last_boot_at: unknown;
    status_by_evse: Record<string, EvseStatus>;
  }>(`SELECT station_id, ocpp_version, vendor, model, firmware, connected, last_seen_at, last_boot_at, status_by_evse FROM station_state WHERE station_id = $1`, [stationId]);
  const r = rows[0];
  if (!r) return undefined;
  return {
    stationId: r.station_id,
    ocppVersion: r.ocpp_version,
    vendor: r.vendor,
    model: r.model,
    firmware: r.firmware,
    connected: r.connected,
    lastSeenMs: toMsOrNull(r.last_seen_at),
    lastBootMs: toMsOrNull(r.last_boot_at),
    statusByEvse: r.status_by_evse,
  };
}
