/**
 * What the dispatch plan needs from OCPP smart-charging state to build a station's profiles: the
 * capabilities read at boot and the 2.1 offline timeout, as StationPlan fields
 * (grid-adapters/ocpp/profiles.ts). One query per grid area, so planning 10 000 stations stays cheap.
 */
import { preferredUnit, usableMaxPeriods, type StationCapabilities } from '../../grid-adapters/ocpp/capabilities.ts';
import { DEFAULT_MAX_PERIODS, type StationPlan } from '../../grid-adapters/ocpp/profiles.ts';
import type { RateUnit } from '../../grid-adapters/ocpp/schedule.ts';
import type { Config } from '../config.ts';
import type { Queryable } from '../store/db.ts';

export type OcppPlanOptions = Pick<StationPlan, 'maxPeriods' | 'unit' | 'maxOfflineDurationS'>;

/** StationPlan fields for one station from its capabilities (`{}` = defaults) and the config. */
export function planOptionsFrom(c: StationCapabilities, version: StationPlan['version'], config: Pick<Config, 'OCPP_MAX_OFFLINE_S'>): OcppPlanOptions {
  return {
    maxPeriods: usableMaxPeriods(c, DEFAULT_MAX_PERIODS),
    unit: preferredUnit(c),
    ...(version === '2.1' ? { maxOfflineDurationS: config.OCPP_MAX_OFFLINE_S } : {}),
  };
}

/** Capabilities of every station of a grid area that reported some (stations without a row are absent). */
export async function areaCapabilities(q: Queryable, gridAreaId: string): Promise<Map<string, StationCapabilities>> {
  const rows = await q.query<{ station_id: string; max_periods: number | null; rate_units: string[] | null }>(
    `SELECT c.station_id, c.max_periods, c.rate_units FROM ocpp_station_capability c JOIN topology_node n ON n.id = c.station_id WHERE n.grid_area_id = $1`,
    [gridAreaId],
  );
  return new Map(
    rows.map((r) => {
      const c: StationCapabilities = {};
      if (r.max_periods !== null) c.maxPeriods = Number(r.max_periods);
      if (r.rate_units !== null) c.rateUnits = r.rate_units.filter((u): u is RateUnit => u === 'A' || u === 'W');
      return [r.station_id, c];
    }),
  );
}
