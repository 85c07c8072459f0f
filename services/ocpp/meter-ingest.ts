/**
 * Stores parsed meter readings: active import power as measurement rows (kW) on the EVSE node, and
 * the energy register as the session's delivered energy. Runs inside the caller's transaction, so
 * the station's message is answered only once both are stored.
 */
import { POWER_ACTIVE_IMPORT, type MeterReading } from '../../grid-adapters/ocpp/meter-values.ts';
import type { Queryable } from '../store/db.ts';
import { insertMeasurements } from './measurement-store.ts';
import { recordEnergyRegister } from './session-store.ts';

export async function ingestReadings(q: Queryable, target: { nodeId: string; sessionId: string | null }, readings: MeterReading[]): Promise<number> {
  const sorted = [...readings].sort((a, b) => a.timeMs - b.timeMs);
  const rows = sorted.flatMap((r) =>
    r.powerKw === undefined
      ? []
      : [{ timeMs: r.timeMs, nodeId: target.nodeId, sessionId: target.sessionId, measurand: POWER_ACTIVE_IMPORT, value: r.powerKw, unit: 'kW' }],
  );
  const written = await insertMeasurements(q, rows);
  if (target.sessionId) {
    // Oldest first: the first register reading of a session without a meter start is its baseline.
    for (const r of sorted) if (r.energyWh !== undefined) await recordEnergyRegister(q, target.sessionId, r.energyWh);
  }
  return written;
}
