/**
 * Stores parsed meter readings: the net active power (import − export, negative while discharging) as
 * measurement rows (kW) on the EVSE node — under the measurand Power.Active.Import, the series every
 * reader (status page, OSCP and OpenADR reports) already uses, now signed — and the import and export
 * energy registers as the session's delivered and exported energy. Runs inside the caller's transaction, so
 * the station's message is answered only once both are stored.
 */
import { POWER_ACTIVE_IMPORT, type MeterReading } from '../../grid-adapters/ocpp/meter-values.ts';
import type { Queryable } from '../store/db.ts';
import { compareMeasurement } from '../../grid-adapters/ocpp/composite.ts';
import { insertMeasurements } from './measurement-store.ts';
import { recordCompliance } from './smart-store.ts';
import { recordEnergyRegister, recordExportRegister } from './session-store.ts';

/** Closed loop on meter values: the station and tolerance to check a measured power against. */
export interface MeterCheck {
  stationId: string;
  gridAreaId: string;
  toleranceKw: number;
  intervalMinutes: number;
  /** Told the result of every check (metrics); must not throw. */
  onResult(ok: boolean): void;
}

export async function ingestReadings(q: Queryable, target: { nodeId: string; sessionId: string | null }, readings: MeterReading[], check?: MeterCheck): Promise<number> {
  const sorted = [...readings].sort((a, b) => a.timeMs - b.timeMs);
  const rows = sorted.flatMap((r) =>
    r.powerKw === undefined
      ? []
      : [{ timeMs: r.timeMs, nodeId: target.nodeId, sessionId: target.sessionId, measurand: POWER_ACTIVE_IMPORT, value: r.powerKw, unit: 'kW' }],
  );
  const written = await insertMeasurements(q, rows);
  const latest = rows[rows.length - 1];
  if (check && latest && target.sessionId) await checkAgainstSetpoint(q, check, target.nodeId, latest.timeMs, latest.value);
  if (target.sessionId) {
    // Oldest first: the first register reading of a session without a meter start is its baseline.
    for (const r of sorted) {
      if (r.energyWh !== undefined) await recordEnergyRegister(q, target.sessionId, r.energyWh);
      if (r.exportEnergyWh !== undefined) await recordExportRegister(q, target.sessionId, r.exportEnergyWh);
    }
  }
  return written;
}

/**
 * Compares the latest measured power of an EVSE with the setpoint of the newest allocation run for the
 * interval it falls in (the TxProfile limit, or the 2.1 CentralSetpoint gridflex sent), and records the
 * result (ocpp_compliance, kind 'meter'). Both are signed (negative = discharging): compareMeasurement
 * holds a discharging EVSE to its discharge cap. No setpoint for that time (not planned yet) → no record.
 */
async function checkAgainstSetpoint(q: Queryable, c: MeterCheck, evseNodeId: string, timeMs: number, measuredKw: number): Promise<void> {
  const rows = await q.query<{ kw: number; ocpp_evse_id: number | null }>(
    `SELECT sp.kw, e.ocpp_evse_id FROM setpoint sp JOIN topology_node e ON e.id = sp.evse_id
     WHERE sp.evse_id = $1 AND sp.start_at <= $2 AND sp.start_at > $2::timestamptz - make_interval(mins => $3::int)
     ORDER BY sp.run_id DESC LIMIT 1`,
    [evseNodeId, new Date(timeMs), c.intervalMinutes],
  );
  const r = rows[0];
  if (!r) return;
  const cmp = compareMeasurement(measuredKw, Number(r.kw), c.toleranceKw);
  await recordCompliance(q, {
    stationId: c.stationId,
    gridAreaId: c.gridAreaId,
    ocppEvseId: Number(r.ocpp_evse_id ?? 0),
    kind: 'meter',
    ok: cmp.ok,
    excessKw: cmp.excessKw,
    atMs: timeMs,
    detail: { measuredKw, setpointKw: Number(r.kw) },
  });
  c.onResult(cmp.ok);
}
