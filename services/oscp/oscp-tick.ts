import { alignToInterval } from '../../optimizer/model.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Db } from '../store/db.ts';
import { checkMeasuredCompliance, enqueueMeasurements } from './fp-reports.ts';
import { enqueueHeartbeats } from './heartbeats.ts';
import { checkOfflinePeers } from './offline.ts';

export type OscpTickConfig = Pick<
  Config,
  'INTERVAL_MINUTES' | 'OSCP_MEASUREMENT_INTERVAL_S' | 'OSCP_ASSET_MEASUREMENTS' | 'OSCP_COMPLIANCE_TOLERANCE_KW' | 'OSCP_OFFLINE_SAFE_IMPORT_KW' | 'OSCP_OFFLINE_SAFE_EXPORT_KW'
>;

/** Late meter values get this long after an interval ends before measured compliance is judged. */
const MEASURED_GRACE_MS = 30_000;
/** ...and the check runs in this window after that (every scheduler tick in it; it is idempotent). */
const MEASURED_WINDOW_MS = 120_000;

/**
 * All time-driven OSCP work, for the scheduler's 10-second tick: offline mode first (safety), then
 * heartbeats, measurements and the measured-compliance check. A failing step is logged and does not
 * stop the others. Returns the grid areas to re-allocate (a DSO went offline or came back) and how many
 * OSCP messages were queued (kick the dispatcher when > 0).
 */
export async function oscpTick(db: Db, nowMs: number, deps: { config: OscpTickConfig; log: Logger; metrics?: Pick<Metrics, 'registry'> }): Promise<{ gridAreaIds: string[]; queued: number }> {
  const { config, log } = deps;
  let gridAreaIds: string[] = [];
  let queued = 0;
  const step = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      log.error({ err, step: what }, 'OSCP scheduled work failed');
    }
  };
  await step('offline', async () => {
    gridAreaIds = (await checkOfflinePeers(db, nowMs, { log, ...(deps.metrics ? { metrics: deps.metrics } : {}) })).gridAreaIds;
  });
  await step('heartbeats', async () => {
    queued += await enqueueHeartbeats(db, nowMs);
  });
  await step('measurements', async () => {
    queued += await enqueueMeasurements(db, nowMs, { intervalS: config.OSCP_MEASUREMENT_INTERVAL_S, assets: config.OSCP_ASSET_MEASUREMENTS });
  });
  const sinceInterval = nowMs - alignToInterval(nowMs, config.INTERVAL_MINUTES);
  if (sinceInterval >= MEASURED_GRACE_MS && sinceInterval < MEASURED_GRACE_MS + MEASURED_WINDOW_MS) {
    await step('measured-compliance', async () => {
      queued += await checkMeasuredCompliance(db, nowMs, {
        intervalMinutes: config.INTERVAL_MINUTES,
        toleranceKw: config.OSCP_COMPLIANCE_TOLERANCE_KW,
        envelopeOptions: { safeImportKw: config.OSCP_OFFLINE_SAFE_IMPORT_KW, safeExportKw: config.OSCP_OFFLINE_SAFE_EXPORT_KW },
      });
    });
  }
  return { gridAreaIds, queued };
}
