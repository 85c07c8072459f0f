import type { ForecastedBlock, UpdateGroupCapacityForecast } from '../../grid-adapters/oscp/index.ts';

/** Test-data builders for OSCP 2.0 messages: a valid default, changed by a callback. */

export const T0 = Date.UTC(2026, 10, 23, 12, 0);
export const MIN = 60_000;
export const Q = 15 * MIN;

export function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}

export function aBlock(change: (b: ForecastedBlock) => void = () => undefined): ForecastedBlock {
  const b: ForecastedBlock = { capacity: 50, phase: 'ALL', unit: 'KW', start_time: isoAt(T0), end_time: isoAt(T0 + 4 * Q) };
  change(b);
  return b;
}

/** A block from `fromQ` to `toQ` quarter hours after T0. */
export function blockQ(fromQ: number, toQ: number, capacity: number, unit: ForecastedBlock['unit'] = 'KW', phase: ForecastedBlock['phase'] = 'ALL'): ForecastedBlock {
  return { capacity, phase, unit, start_time: isoAt(T0 + fromQ * Q), end_time: isoAt(T0 + toQ * Q) };
}

export function aForecast(change: (f: UpdateGroupCapacityForecast) => void = () => undefined): UpdateGroupCapacityForecast {
  const f: UpdateGroupCapacityForecast = { group_id: 'grp-1', type: 'CONSUMPTION', forecasted_blocks: [aBlock()] };
  change(f);
  return f;
}
