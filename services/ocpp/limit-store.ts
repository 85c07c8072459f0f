/**
 * External charging limits reported by stations (migration 010, table ocpp_external_limit):
 * OCPP 2.0.1 / 2.1 NotifyChargingLimit stores one (station, evseId, chargingLimitSource) limit,
 * ClearedChargingLimit removes it (K12/K13). The optimizer reads them as capacity envelopes
 * (`ocppExternalLimitEnvelopes`, an orchestrator EnvelopeSource) on the station node (evseId 0) or on
 * the EVSE node (evseId > 0).
 */
import { externalLimitKw, type ReportedSchedule } from '../../grid-adapters/ocpp/external-limits.ts';
import type { CapacityEnvelope, Horizon } from '../../optimizer/model.ts';
import type { Queryable } from '../store/db.ts';
import { toMs } from '../store/rows.ts';

export interface ExternalLimit {
  stationId: string;
  /** OCPP evseId; 0 = the whole station. */
  evseId: number;
  source: string;
  isGridCritical: boolean | null;
  isLocalGeneration: boolean | null;
  schedules: ReportedSchedule[];
  reportedMs: number;
}

export async function saveExternalLimit(q: Queryable, l: Omit<ExternalLimit, 'reportedMs'> & { reportedMs?: number }): Promise<void> {
  await q.query(
    `INSERT INTO ocpp_external_limit (station_id, evse_id, source, is_grid_critical, is_local_generation, schedules, reported_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7)
     ON CONFLICT (station_id, evse_id, source) DO UPDATE SET is_grid_critical = EXCLUDED.is_grid_critical,
       is_local_generation = EXCLUDED.is_local_generation, schedules = EXCLUDED.schedules, reported_at = EXCLUDED.reported_at`,
    [l.stationId, l.evseId, l.source, l.isGridCritical, l.isLocalGeneration, JSON.stringify(l.schedules), new Date(l.reportedMs ?? Date.now())],
  );
}

/** ClearedChargingLimit: without evseId every limit of that source on the station goes. Returns the count removed. */
export async function clearExternalLimit(q: Queryable, stationId: string, source: string, evseId?: number): Promise<number> {
  const rows = await q.query<{ evse_id: number }>(
    `DELETE FROM ocpp_external_limit WHERE station_id = $1 AND source = $2 AND ($3::integer IS NULL OR evse_id = $3) RETURNING evse_id`,
    [stationId, source, evseId ?? null],
  );
  return rows.length;
}

interface Row {
  station_id: string;
  evse_id: number;
  source: string;
  is_grid_critical: boolean | null;
  is_local_generation: boolean | null;
  schedules: unknown;
  reported_at: unknown;
}

function fromRow(r: Row): ExternalLimit {
  const schedules = typeof r.schedules === 'string' ? (JSON.parse(r.schedules) as ReportedSchedule[]) : (r.schedules as ReportedSchedule[]);
  return {
    stationId: r.station_id,
    evseId: Number(r.evse_id),
    source: r.source,
    isGridCritical: r.is_grid_critical,
    isLocalGeneration: r.is_local_generation,
    schedules,
    reportedMs: toMs(r.reported_at),
  };
}

/** The external limits a station currently reports, by evseId then source. */
export async function externalLimits(q: Queryable, stationId: string): Promise<ExternalLimit[]> {
  const rows = await q.query<Row>(
    `SELECT station_id, evse_id, source, is_grid_critical, is_local_generation, schedules, reported_at
     FROM ocpp_external_limit WHERE station_id = $1 ORDER BY evse_id, source`,
    [stationId],
  );
  return rows.map(fromRow);
}

/**
 * Orchestrator EnvelopeSource (services/core/orchestrator.ts): every reported external limit of the
 * stations among `nodeIds` as an import cap, on the station node (evseId 0) or on the topology EVSE
 * whose ocppEvseId is the reported evseId (a limit for an EVSE missing from the topology caps the
 * station instead: never dropped). Limits from local generation (2.1 isLocalGeneration) are extra
 * capacity, not caps, and are skipped. Limits without a schedule carry no value and give no envelope.
 */
export async function ocppExternalLimitEnvelopes(q: Queryable, nodeIds: string[], horizon: Horizon): Promise<CapacityEnvelope[]> {
  if (nodeIds.length === 0) return [];
  const rows = await q.query<Row & { evse_node: string | null; voltage_v: number | null; phases: number | null }>(
    `SELECT l.station_id, l.evse_id, l.source, l.is_grid_critical, l.is_local_generation, l.schedules, l.reported_at,
            e.id AS evse_node, COALESCE(e.voltage_v, s.voltage_v) AS voltage_v, COALESCE(e.phases, s.phases) AS phases
     FROM ocpp_external_limit l
     JOIN topology_node s ON s.id = l.station_id
     LEFT JOIN LATERAL (SELECT e.id, e.voltage_v, e.phases FROM topology_node e
                        WHERE l.evse_id > 0 AND e.parent_id = l.station_id AND e.kind = 'evse' AND e.ocpp_evse_id = l.evse_id
                        ORDER BY e.id LIMIT 1) e ON true
     WHERE l.station_id = ANY($1::text[]) AND l.is_local_generation IS NOT TRUE
     ORDER BY l.station_id, l.evse_id, l.source`,
    [nodeIds],
  );
  const out: CapacityEnvelope[] = [];
  for (const r of rows) {
    const l = fromRow(r);
    const importKw = externalLimitKw(l.schedules, horizon, { reportedMs: l.reportedMs, voltageV: r.voltage_v, phases: r.phases });
    if (importKw.every((v) => v === null)) continue;
    out.push({ nodeId: r.evse_node ?? l.stationId, importKw, exportKw: importKw.map(() => null) });
  }
  return out;
}
