import type { Horizon } from '../../optimizer/model.ts';
import { intervalStartMs } from '../../optimizer/model.ts';
import type { CapacityForecastType, EnergyMeasurement, ForecastedBlock, UpdateGroupCapacityForecast } from './schemas.ts';

/**
 * Canonical model → the OSCP 2.0 messages gridflex sends: capacity shares (as Capacity Provider toward
 * a CPO), compliance errors and adjustment requests (as Flexibility Provider toward a DSO), energy
 * measurements. Pure: plain data in, messages out. Units: kW in, `KW` / `KWH` on the wire, phase ALL
 * (gridflex's values are group totals).
 */

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/**
 * A per-interval series as ForecastedBlocks: adjacent intervals of equal value (after rounding to
 * watts) become one block; null / non-finite values (no limit) are left out.
 */
export function seriesToBlocks(h: Horizon, kw: readonly (number | null | undefined)[], from = 0, to = h.count): ForecastedBlock[] {
  const out: ForecastedBlock[] = [];
  let open: { start: number; value: number } | null = null;
  const close = (end: number) => {
    if (!open) return;
    out.push({ capacity: open.value, phase: 'ALL', unit: 'KW', start_time: new Date(intervalStartMs(h, open.start)).toISOString(), end_time: new Date(intervalStartMs(h, end)).toISOString() });
    open = null;
  };
  for (let t = Math.max(0, from); t < Math.min(to, h.count); t++) {
    const raw = kw[t];
    const v = raw === null || raw === undefined || !Number.isFinite(raw) ? null : Math.max(0, round3(raw));
    if (open && v === open.value) continue;
    close(t);
    if (v !== null) open = { start: t, value: v };
  }
  close(Math.min(to, h.count));
  return out;
}

/** An UpdateGroupCapacityForecast of one group from a per-interval series (kW). Undefined when it has no block. */
export function capacityForecastMessage(groupId: string, type: CapacityForecastType, h: Horizon, kw: readonly (number | null)[]): UpdateGroupCapacityForecast | undefined {
  const blocks = seriesToBlocks(h, kw);
  return blocks.length > 0 ? { group_id: groupId, type, forecasted_blocks: blocks } : undefined;
}

/**
 * The intervals where `planned` (kW) exceeds `limit` (kW) by more than `toleranceKw`: the forecast
 * cannot be met there. Returned as the forecast's own blocks (capacity = the limit) and the worst excess.
 */
export function unmetLimitBlocks(
  h: Horizon,
  planned: readonly number[],
  limit: readonly (number | null)[],
  toleranceKw: number,
  from = 0,
): { blocks: ForecastedBlock[]; worstExcessKw: number; firstInterval: number } | undefined {
  const over: (number | null)[] = Array<number | null>(h.count).fill(null);
  let worst = 0;
  let first = -1;
  for (let t = Math.max(0, from); t < h.count; t++) {
    const l = limit[t];
    const p = planned[t] ?? 0;
    if (l === null || l === undefined || !Number.isFinite(l)) continue;
    if (p > l + toleranceKw) {
      over[t] = l;
      worst = Math.max(worst, p - l);
      if (first < 0) first = t;
    }
  }
  if (first < 0) return undefined;
  return { blocks: seriesToBlocks(h, over), worstExcessKw: round3(worst), firstInterval: first };
}

/**
 * What to ask a DSO for when energy stays unmet under a group (OSCP 2.0 AdjustGroupCapacityForecast):
 * in every interval where the group's import limit binds, the limit plus the unmet energy spread evenly
 * over those intervals. Undefined when no limit binds (more capacity would not help).
 */
export function adjustmentBlocks(h: Horizon, limit: readonly (number | null)[], bindingIntervals: readonly number[], unmetKwh: number): ForecastedBlock[] | undefined {
  const binding = [...new Set(bindingIntervals)].filter((t) => t >= 0 && t < h.count && typeof limit[t] === 'number' && Number.isFinite(limit[t])).sort((a, b) => a - b);
  if (binding.length === 0 || !(unmetKwh > 0)) return undefined;
  const extraKw = unmetKwh / (binding.length * (h.intervalMinutes / 60));
  const wanted: (number | null)[] = Array<number | null>(h.count).fill(null);
  for (const t of binding) wanted[t] = (limit[t] as number) + extraKw;
  const blocks = seriesToBlocks(h, wanted);
  return blocks.length > 0 ? blocks : undefined;
}

/**
 * One period's net energy of a group or asset (OSCP 2.0 EnergyMeasurement): kWh, phase ALL; IMPORT, or
 * EXPORT with the magnitude when the period's net energy is negative (V2X discharging outweighed charging).
 */
export function energyMeasurement(kwh: number, fromMs: number, toMs: number, energyType: EnergyMeasurement['energy_type'] = 'FLEXIBLE'): EnergyMeasurement {
  return {
    value: round3(Math.abs(kwh)),
    phase: 'ALL',
    unit: 'KWH',
    direction: kwh < 0 ? 'EXPORT' : 'IMPORT',
    ...(energyType ? { energy_type: energyType } : {}),
    measure_time: new Date(toMs).toISOString(),
    initial_measure_time: new Date(fromMs).toISOString(),
  };
}
