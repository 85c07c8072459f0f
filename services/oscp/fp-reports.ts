import {
  adjustmentBlocks,
  energyMeasurement,
  unmetLimitBlocks,
  type AdjustGroupCapacityForecast,
  type AssetMeasurement,
  type EnergyMeasurement,
  type GroupCapacityComplianceError,
  type UpdateAssetMeasurements,
  type UpdateGroupMeasurements,
} from '../../grid-adapters/oscp/index.ts';
import { POWER_ACTIVE_IMPORT } from '../../grid-adapters/ocpp/meter-values.ts';
import type { Allocation, Horizon } from '../../optimizer/model.ts';
import { alignToInterval, intervalStartMs } from '../../optimizer/model.ts';
import { audit } from '../store/audit-store.ts';
import type { Db, Queryable } from '../store/db.ts';
import { enqueue } from '../store/outbox-store.ts';
import { iso, toMsOrNull } from '../store/rows.ts';
import { loadOscpEnvelopes, type OscpEnvelopeOptions } from './offline.ts';
import { claimReport, dsoGroups, evsesUnder } from './oscp-groups.ts';

/**
 * What gridflex, as OSCP 2.0 Flexibility Provider, sends a DSO besides heartbeats:
 * - UpdateGroupMeasurements: the energy each group used, per period, when the DSO's Handshake asked
 *   for measurements (RequiredBehaviour.measurement_configuration);
 * - GroupCapacityComplianceError: when a forecast cannot be met (the plan exceeds it) or was not met
 *   (measured power exceeded it);
 * - AdjustGroupCapacityForecast: a request for more capacity when charging demand stays unmet because
 *   the group's limit binds.
 * Everything goes through the outbox in the caller's transaction.
 */

const MAX_PERIODS = 96;

/**
 * Mean measured net power (kW, negative while discharging) per EVSE over [fromMs, toMs): the mean of its
 * Power.Active.Import samples, which meter-ingest stores as import − export (OCPP meter values are sampled
 * at a steady rate during a session, so mean × time is the energy). EVSEs without samples are absent.
 */
export async function measuredByEvse(q: Queryable, evses: string[], fromMs: number, toMs: number): Promise<Map<string, { kw: number; samples: number }>> {
  const out = new Map<string, { kw: number; samples: number }>();
  if (evses.length === 0) return out;
  const rows = await q.query<{ node_id: string; kw: number; n: number }>(
    `SELECT node_id, avg(value)::float8 AS kw, count(*)::int AS n FROM measurement
     WHERE node_id = ANY($1::text[]) AND measurand = $2 AND time >= $3 AND time < $4 GROUP BY node_id ORDER BY node_id`,
    [evses, POWER_ACTIVE_IMPORT, iso(fromMs), iso(toMs)],
  );
  for (const r of rows) out.set(r.node_id, { kw: Number(r.kw), samples: Number(r.n) });
  return out;
}

/** Mean measured net power (kW) of the EVSEs under `nodeId` (their means summed); `samples` = 0 when nothing was measured. */
export async function measuredPowerKw(q: Queryable, nodeId: string, fromMs: number, toMs: number): Promise<{ kw: number; samples: number }> {
  const per = await measuredByEvse(q, await evsesUnder(q, nodeId), fromMs, toMs);
  let kw = 0;
  let samples = 0;
  for (const m of per.values()) {
    kw += m.kw;
    samples += m.samples;
  }
  return { kw, samples };
}

/**
 * OSCP 2.0 UpdateGroupMeasurements, on the schedule the DSO's Handshake asked for: every
 * `intervalS` (OSCP_MEASUREMENT_INTERVAL_S) each completed period's energy per group. CONTINUOUS: every
 * period, also zero; INTERMITTENT alone: only periods in which something was measured. With `assets`
 * (OSCP_ASSET_MEASUREMENTS) also UpdateAssetMeasurements: the same per EVSE (asset category CHARGING),
 * for EVSEs with samples in the period. Periods missed while gridflex was down are sent later (at most
 * 96). Called by the scheduler every 10 s, possibly on several instances: peers are locked with SKIP
 * LOCKED and measurements_sent_at moves on in the same transaction. Returns how many messages were queued.
 */
export async function enqueueMeasurements(db: Db, nowMs: number, opts: { intervalS: number; assets?: boolean | undefined }): Promise<number> {
  const step = opts.intervalS * 1000;
  const periodEnd = Math.floor(nowMs / step) * step;
  return db.tx(async (q) => {
    const peers = await q.query<{ id: string; measurement_configuration: string[]; measurements_sent_at: unknown }>(
      `SELECT id, measurement_configuration, measurements_sent_at FROM oscp_peer
       WHERE role = 'capacity_provider' AND state = 'handshake_done' AND outbound_token IS NOT NULL AND base_url IS NOT NULL
         AND jsonb_typeof(measurement_configuration) = 'array' AND jsonb_array_length(measurement_configuration) > 0
         AND (measurements_sent_at IS NULL OR measurements_sent_at < $1)
       ORDER BY id FOR UPDATE SKIP LOCKED`,
      [iso(periodEnd)],
    );
    let queued = 0;
    for (const p of peers) {
      const continuous = p.measurement_configuration.includes('CONTINUOUS');
      const sent = toMsOrNull(p.measurements_sent_at);
      const start = Math.max(sent ?? periodEnd - step, periodEnd - MAX_PERIODS * step);
      for (const g of await dsoGroups(q, { peerId: p.id })) {
        const evses = await evsesUnder(q, g.nodeId);
        const measurements: EnergyMeasurement[] = [];
        const assets: AssetMeasurement[] = [];
        for (let s = start; s < periodEnd; s += step) {
          const per = await measuredByEvse(q, evses, s, s + step);
          const kw = [...per.values()].reduce((sum, m) => sum + m.kw, 0);
          if (continuous || per.size > 0) measurements.push(energyMeasurement((kw * step) / 3_600_000, s, s + step));
          if (opts.assets) {
            for (const [evse, m] of per) assets.push({ asset_id: evse, asset_category: 'CHARGING', energy_measurement: energyMeasurement((m.kw * step) / 3_600_000, s, s + step) });
          }
        }
        if (measurements.length > 0) {
          const payload: UpdateGroupMeasurements = { group_id: g.groupId, measurements };
          await enqueue(q, { channel: 'oscp', target: p.id, action: 'update_group_measurements', payload });
          queued++;
        }
        if (assets.length > 0) {
          const payload: UpdateAssetMeasurements = { group_id: g.groupId, measurements: assets };
          await enqueue(q, { channel: 'oscp', target: p.id, action: 'update_asset_measurements', payload });
          queued++;
        }
      }
      await q.query('UPDATE oscp_peer SET measurements_sent_at = $2 WHERE id = $1', [p.id, iso(periodEnd)]);
    }
    return queued;
  });
}

/**
 * The official GroupCapacityComplianceError schema has no group_id (only message and
 * forecasted_blocks); gridflex names the group in the message and adds `group_id` as an extra property,
 * which the schema allows (no additionalProperties: false), so a receiver can tell groups apart.
 */
async function queueComplianceError(q: Queryable, peerId: string, groupId: string, nodeId: string, body: GroupCapacityComplianceError, detail: Record<string, unknown>): Promise<void> {
  const payload = { group_id: groupId, ...body };
  await enqueue(q, { channel: 'oscp', target: peerId, action: 'group_capacity_compliance_error', payload });
  await audit(q, 'gridflex', 'oscp.group_capacity_compliance_error', nodeId, { peerId, groupId, message: payload.message, ...detail });
}

/**
 * OSCP 2.0 GroupCapacityComplianceError when a forecast cannot be met: for each DSO group of the grid
 * area, the intervals where the allocation's planned draw under the group's node (nodeTotalsKw)
 * exceeds the forecast (offline mode honoured) by more than `toleranceKw`. Sent once per group and
 * first violated interval. The orchestrator calls this with every allocation. Returns how many were queued.
 */
export async function reportPlanCompliance(
  q: Queryable,
  a: { gridAreaId: string; allocation: Allocation; toleranceKw: number; envelopeOptions?: OscpEnvelopeOptions },
): Promise<number> {
  const h = a.allocation.horizon;
  let queued = 0;
  for (const g of await dsoGroups(q, { gridAreaId: a.gridAreaId })) {
    const planned = a.allocation.nodeTotalsKw[g.nodeId];
    if (!planned) continue;
    const [env] = await loadOscpEnvelopes(q, [g.nodeId], h, a.envelopeOptions);
    if (!env) continue;
    const over = unmetLimitBlocks(h, planned, env.importKw, a.toleranceKw);
    if (!over) continue;
    const periodMs = intervalStartMs(h, over.firstInterval);
    if (!(await claimReport(q, { peerId: g.peerId, groupId: g.groupId, kind: 'plan', periodMs }))) continue;
    const message = `gridflex cannot keep group ${g.groupId} within the forecast from ${iso(periodMs)}: the planned draw exceeds it by up to ${over.worstExcessKw} kW (allocation ${a.allocation.status}${a.allocation.reason ? `: ${a.allocation.reason}` : ''})`;
    await queueComplianceError(q, g.peerId, g.groupId, g.nodeId, { message, forecasted_blocks: over.blocks }, { kind: 'plan', worstExcessKw: over.worstExcessKw });
    queued++;
  }
  return queued;
}

/**
 * OSCP 2.0 GroupCapacityComplianceError when measured power broke a forecast: for the last completed
 * interval, the measured import under each DSO group (mean of meter values) against the forecast's
 * import limit for it, plus `toleranceKw`. Sent once per group and interval. For the scheduler, once
 * per interval (or every 10 s: it is idempotent). Returns how many were queued.
 */
export async function checkMeasuredCompliance(
  db: Db,
  nowMs: number,
  opts: { intervalMinutes: number; toleranceKw: number; envelopeOptions?: OscpEnvelopeOptions },
): Promise<number> {
  const end = alignToInterval(nowMs, opts.intervalMinutes);
  const h: Horizon = { startMs: end - opts.intervalMinutes * 60_000, intervalMinutes: opts.intervalMinutes, count: 1 };
  return db.tx(async (q) => {
    let queued = 0;
    for (const g of await dsoGroups(q)) {
      const [env] = await loadOscpEnvelopes(q, [g.nodeId], h, opts.envelopeOptions);
      const limit = env?.importKw[0];
      if (limit === null || limit === undefined) continue;
      const m = await measuredPowerKw(q, g.nodeId, h.startMs, end);
      if (m.samples === 0 || m.kw <= limit + opts.toleranceKw) continue;
      if (!(await claimReport(q, { peerId: g.peerId, groupId: g.groupId, kind: 'measured', periodMs: h.startMs }))) continue;
      const measured = Math.round(m.kw * 1000) / 1000;
      const message = `group ${g.groupId} drew ${measured} kW on average from ${iso(h.startMs)} to ${iso(end)}, above the forecast's ${limit} kW`;
      const block = { capacity: limit, phase: 'ALL' as const, unit: 'KW' as const, start_time: iso(h.startMs), end_time: iso(end) };
      await queueComplianceError(q, g.peerId, g.groupId, g.nodeId, { message, forecasted_blocks: [block] }, { kind: 'measured', measuredKw: measured, limitKw: limit });
      queued++;
    }
    return queued;
  });
}

/**
 * OSCP 2.0 AdjustGroupCapacityForecast: asks a DSO for more capacity for a group when the allocation
 * leaves at least `minUnmetKwh` undelivered to sessions under the group's node and the group's import
 * limit binds. The request is the limit plus the unmet energy spread over the binding intervals. At most
 * one per group per `minIntervalS`. Returns how many were queued.
 */
export async function requestCapacityAdjustments(
  q: Queryable,
  a: { gridAreaId: string; allocation: Allocation; nowMs: number; minUnmetKwh: number; minIntervalS: number; envelopeOptions?: OscpEnvelopeOptions },
): Promise<number> {
  const alloc = a.allocation;
  if (alloc.unmet.length === 0) return 0;
  const h = alloc.horizon;
  let queued = 0;
  for (const g of await dsoGroups(q, { gridAreaId: a.gridAreaId })) {
    const evses = new Set(await evsesUnder(q, g.nodeId));
    const unmetKwh = alloc.unmet.filter((u) => evses.has(u.evseId)).reduce((s, u) => s + u.kwh, 0);
    if (unmetKwh < a.minUnmetKwh || unmetKwh <= 0) continue;
    const binding = alloc.binding.filter((b) => b.nodeId === g.nodeId && b.kind === 'import').map((b) => b.interval);
    const [env] = await loadOscpEnvelopes(q, [g.nodeId], h, a.envelopeOptions);
    if (!env) continue;
    const blocks = adjustmentBlocks(h, env.importKw, binding, unmetKwh);
    if (!blocks) continue;
    const step = a.minIntervalS * 1000;
    if (!(await claimReport(q, { peerId: g.peerId, groupId: g.groupId, kind: 'adjust', periodMs: Math.floor(a.nowMs / step) * step }))) continue;
    const payload: AdjustGroupCapacityForecast = { group_id: g.groupId, type: 'CONSUMPTION', forecasted_blocks: blocks };
    await enqueue(q, { channel: 'oscp', target: g.peerId, action: 'adjust_group_capacity_forecast', payload, dedupeKey: `oscp:${g.peerId}:adjust:${g.groupId}` });
    await audit(q, 'gridflex', 'oscp.adjust_group_capacity_forecast', g.nodeId, { peerId: g.peerId, groupId: g.groupId, unmetKwh, blocks: blocks.length });
    queued++;
  }
  return queued;
}
