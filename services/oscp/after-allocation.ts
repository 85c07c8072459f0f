import type { Allocation } from '../../optimizer/model.ts';
import type { Config } from '../config.ts';
import type { Queryable } from '../store/db.ts';
import { publishCpoForecasts } from './cp-publish.ts';
import { reportPlanCompliance, requestCapacityAdjustments } from './fp-reports.ts';

export type OscpAllocationConfig = Pick<
  Config,
  'OSCP_COMPLIANCE_TOLERANCE_KW' | 'OSCP_ADJUST_MIN_UNMET_KWH' | 'OSCP_ADJUST_MIN_INTERVAL_S' | 'OSCP_OFFLINE_SAFE_IMPORT_KW' | 'OSCP_OFFLINE_SAFE_EXPORT_KW'
>;

/**
 * Everything OSCP does with a new allocation, in the transaction that stores it (outbox rows commit
 * with the run): re-publish each CPO's share (Capacity Provider role); tell the DSO when its forecast
 * cannot be met (GroupCapacityComplianceError) and ask it for more capacity when demand stays unmet
 * (AdjustGroupCapacityForecast). Returns how many OSCP messages were queued (kick the dispatcher if > 0).
 */
export async function oscpAfterAllocation(q: Queryable, a: { gridAreaId: string; allocation: Allocation; nowMs: number; config: OscpAllocationConfig }): Promise<number> {
  const envelopeOptions = { safeImportKw: a.config.OSCP_OFFLINE_SAFE_IMPORT_KW, safeExportKw: a.config.OSCP_OFFLINE_SAFE_EXPORT_KW };
  let n = await publishCpoForecasts(q, a.gridAreaId, a.allocation);
  n += await reportPlanCompliance(q, { gridAreaId: a.gridAreaId, allocation: a.allocation, toleranceKw: a.config.OSCP_COMPLIANCE_TOLERANCE_KW, envelopeOptions });
  n += await requestCapacityAdjustments(q, {
    gridAreaId: a.gridAreaId,
    allocation: a.allocation,
    nowMs: a.nowMs,
    minUnmetKwh: a.config.OSCP_ADJUST_MIN_UNMET_KWH,
    minIntervalS: a.config.OSCP_ADJUST_MIN_INTERVAL_S,
    envelopeOptions,
  });
  return n;
}
