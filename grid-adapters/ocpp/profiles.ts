/**
 * Allocation → OCPP SetChargingProfile requests (OCPP 1.6J, 2.0.1 and 2.1), one station at a time.
 *
 * Pure: the caller passes the plan (from an Allocation and the topology) and the current time.
 *
 * What a station gets, every time it is re-planned:
 * - one station-wide max profile (1.6 ChargePointMaxProfile on connectorId 0, 2.0.1
 *   ChargingStationMaxProfile on evseId 0) whose limit per interval is `stationCapKw`: the sum of the
 *   caps of its EVSEs. It keeps the grid area within its forecast even when a new session starts
 *   before the next re-allocation, because the station itself enforces it;
 * - one TxProfile per EVSE with a running transaction, with that EVSE's setpoints.
 *
 * Every profile keeps a fixed id and stack level per slot, so a new one REPLACES the previous one on
 * the station (no clear-then-set gap in which the station would be unlimited).
 */
import { type Horizon, horizonEndMs } from '../../optimizer/model.ts';
import {
  type RateUnit,
  type SchedulePeriod,
  DEFAULT_PHASES,
  DEFAULT_VOLTAGE_V,
  capPeriods,
  floorTenth,
  kwToUnit,
  toPeriods,
} from './schedule.ts';

export type OcppVersion = '1.6' | '2.0.1' | '2.1';

/** 2.0.1 and 2.1 share the profile shapes gridflex sends (2.1 adds optional fields only). */
export function isV2(version: OcppVersion): version is '2.0.1' | '2.1' {
  return version !== '1.6';
}

export interface StationPlanEvse {
  /** Topology node id of the EVSE (for logs and callers; not sent). */
  evseNodeId: string;
  /** 2.0.1 evseId / 1.6 connectorId, >= 1. */
  ocppEvseId: number;
  /** The running transaction on this EVSE; null = none (no TxProfile is sent). */
  transactionId: string | null;
  /** Setpoint per horizon interval (kW). */
  kw: number[];
}

export interface StationPlan {
  version: OcppVersion;
  stationId: string;
  horizon: Horizon;
  /** Current time (epoch ms); a plan whose horizon has already ended is refused. */
  nowMs: number;
  /** chargingRateUnit; default 'W'. */
  unit?: 'W' | 'A';
  /** Phase-to-neutral voltage for A conversion; default 230 V. */
  voltageV?: number;
  /** Phases in use; sent as numberPhases when given; default 3 for A conversion. */
  phases?: number;
  /** Station-wide cap per horizon interval (kW). */
  stationCapKw: number[];
  evses: StationPlanEvse[];
  /** Most periods per schedule the station accepts; default DEFAULT_MAX_PERIODS. */
  maxPeriods?: number;
  /**
   * Station-wide limit (kW) that stays in force after the horizon if no newer profile arrives (gridflex
   * unreachable). Without it the max profile ends with the horizon and the station falls back to no limit.
   */
  holdAfterHorizonKw?: number;
  /**
   * OCPP 2.1 only: TxProfiles carry `maxOfflineDuration` (seconds) so a station that loses gridflex
   * for longer falls back to the failsafe TxDefaultProfile (failsafe.ts) instead of following a stale
   * plan (2.1 K01: "reverts back to a valid profile with a lower stack level" / other purpose).
   * Ignored for 1.6 and 2.0.1, whose schemas have no such field.
   */
  maxOfflineDurationS?: number;
}

export interface ProfileMessage {
  action: 'SetChargingProfile';
  payload: object;
  /** Dedupe key for the outbox: a newer message in the same slot supersedes an undelivered older one. */
  slot: string;
}

/** Fixed profile ids: one per slot, so a new profile replaces the old one by id. */
export const STATION_MAX_PROFILE_ID = 1;
export const TX_PROFILE_ID_BASE = 100;
/** Both profiles sit on stack level 0: each purpose has its own stack. */
export const STATION_MAX_STACK_LEVEL = 0;
export const TX_STACK_LEVEL = 0;
/**
 * Default cap on periods per schedule. 48 covers a 96 × 15 min horizon with typical step changes;
 * chargers that report a lower ChargingScheduleMaxPeriods / PeriodsPerSchedule need `maxPeriods`.
 */
export const DEFAULT_MAX_PERIODS = 48;

export function stationMaxSlot(stationId: string): string {
  return `${stationId}/max`;
}

export function txSlot(stationId: string, ocppEvseId: number): string {
  return `${stationId}/tx/${ocppEvseId}`;
}

/**
 * The OCPP 2.x SetChargingProfile request for a TxProfile: one wrapper for the plain plan, the ISO 15118
 * schedule list and the 2.1 V2X profile, so the slot's id and stack level stay the same whichever is sent.
 * OCPP 2.0.1 / 2.1 K01.FR.16: a TxProfile targets an evseId > 0; K01.FR.03: it carries the transactionId.
 * Same id + stack level as before → K01.FR.05 replaces the old profile, and K01.FR.39 (same
 * stackLevel/transactionId under another id) cannot trigger.
 */
export function txProfileRequest2x(t: { ocppEvseId: number; transactionId: string; schedules: object[]; maxOfflineDurationS?: number }): object {
  return {
    evseId: t.ocppEvseId,
    chargingProfile: {
      id: txProfileId(t.ocppEvseId),
      stackLevel: TX_STACK_LEVEL,
      chargingProfilePurpose: 'TxProfile',
      chargingProfileKind: 'Absolute',
      transactionId: t.transactionId,
      ...(t.maxOfflineDurationS === undefined ? {} : { maxOfflineDuration: t.maxOfflineDurationS }),
      chargingSchedule: t.schedules,
    },
  };
}

export function txProfileId(ocppEvseId: number): number {
  return TX_PROFILE_ID_BASE + ocppEvseId;
}

interface BuiltSchedule {
  startSchedule: string;
  duration?: number;
  chargingRateUnit: RateUnit;
  chargingSchedulePeriod: ({ startPeriod: number; limit: number; numberPhases?: number })[];
}

/** Builds the SetChargingProfile requests for one station: the station max profile first, then TxProfiles. */
export function buildStationProfiles(plan: StationPlan): ProfileMessage[] {
  checkPlan(plan);
  const build = (kw: number[]) => buildSchedule(plan, kw);
  const out: ProfileMessage[] = [];

  const max = buildSchedule(plan, plan.stationCapKw, plan.holdAfterHorizonKw);
  out.push({
    action: 'SetChargingProfile',
    slot: stationMaxSlot(plan.stationId),
    payload:
      isV2(plan.version)
        ? {
            // OCPP 2.0.1 / 2.1: a ChargingStationMaxProfile is set on evseId 0 (overall limit of the station)
            // and is never Relative (K01.FR.38); Absolute needs startSchedule (K01.FR.40).
            evseId: 0,
            chargingProfile: {
              id: STATION_MAX_PROFILE_ID,
              stackLevel: STATION_MAX_STACK_LEVEL,
              chargingProfilePurpose: 'ChargingStationMaxProfile',
              chargingProfileKind: 'Absolute',
              chargingSchedule: [{ id: STATION_MAX_PROFILE_ID, ...max }],
            },
          }
        : {
            // OCPP 1.6 §3.13.1: ChargePointMaxProfile can only be set on connectorId 0.
            connectorId: 0,
            csChargingProfiles: {
              chargingProfileId: STATION_MAX_PROFILE_ID,
              stackLevel: STATION_MAX_STACK_LEVEL,
              chargingProfilePurpose: 'ChargePointMaxProfile',
              chargingProfileKind: 'Absolute',
              chargingSchedule: max,
            },
          },
  });

  for (const e of plan.evses) {
    if (e.transactionId === null) continue;
    const schedule = build(e.kw);
    const id = txProfileId(e.ocppEvseId);
    out.push({
      action: 'SetChargingProfile',
      slot: txSlot(plan.stationId, e.ocppEvseId),
      payload:
        isV2(plan.version)
          ? txProfileRequest2x({
              ocppEvseId: e.ocppEvseId,
              transactionId: e.transactionId,
              schedules: [{ id, ...schedule }],
              ...(plan.version === '2.1' && plan.maxOfflineDurationS !== undefined ? { maxOfflineDurationS: plan.maxOfflineDurationS } : {}),
            })
          : {
              // OCPP 1.6 §5.16: the transactionId SHALL be included for a TxProfile, and a profile with
              // the same chargingProfileId (or stackLevel/purpose) replaces the existing one.
              connectorId: e.ocppEvseId,
              csChargingProfiles: {
                chargingProfileId: id,
                transactionId: Number(e.transactionId),
                stackLevel: TX_STACK_LEVEL,
                chargingProfilePurpose: 'TxProfile',
                chargingProfileKind: 'Absolute',
                chargingSchedule: schedule,
              },
            },
    });
  }
  return out;
}

function buildSchedule(plan: StationPlan, kw: number[], holdKw?: number): BuiltSchedule {
  const unit: RateUnit = plan.unit ?? 'W';
  const voltageV = plan.voltageV ?? DEFAULT_VOLTAGE_V;
  const phases = plan.phases ?? DEFAULT_PHASES;
  const intervalSeconds = plan.horizon.intervalMinutes * 60;
  const duration = plan.horizon.count * intervalSeconds;
  // Round each interval down first, so values equal after rounding merge into one period.
  const limits = kw.map((v) => floorTenth(kwToUnit(v, unit, voltageV, phases)));
  const maxPeriods = plan.maxPeriods ?? DEFAULT_MAX_PERIODS;
  const hold = holdKw === undefined ? undefined : floorTenth(kwToUnit(Math.max(0, holdKw), unit, voltageV, phases));
  // A held tail takes one period of the station's budget, so the horizon gets one fewer.
  const periods: SchedulePeriod[] = capPeriods(toPeriods(limits, intervalSeconds), hold === undefined ? maxPeriods : Math.max(1, maxPeriods - 1), duration);
  if (hold !== undefined && periods[periods.length - 1]?.limit !== hold) periods.push({ startPeriod: duration, limit: hold });
  return {
    // Absolute schedule anchored at the horizon start; a start in the past is fine (already running).
    startSchedule: new Date(plan.horizon.startMs).toISOString(),
    // Without a duration the last period stays in force (OCPP 1.6 §7.13 / 2.0.1 ChargingScheduleType.duration).
    ...(hold === undefined ? { duration } : {}),
    chargingRateUnit: unit,
    // numberPhases tells the station how many phases the limit assumes; only sent when known.
    chargingSchedulePeriod: periods.map((p) => (plan.phases === undefined ? { ...p } : { ...p, numberPhases: plan.phases })),
  };
}

function checkPlan(plan: StationPlan): void {
  const n = plan.horizon.count;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`horizon.count must be a positive integer, got ${n}`);
  if (horizonEndMs(plan.horizon) <= plan.nowMs) {
    throw new RangeError(`plan for ${plan.stationId} is stale: its horizon ended before now`);
  }
  if (plan.stationCapKw.length !== n) throw new RangeError(`stationCapKw has ${plan.stationCapKw.length} values, horizon has ${n}`);
  if (plan.unit === 'A') {
    if (plan.voltageV !== undefined && !(plan.voltageV > 0)) throw new RangeError(`voltageV must be > 0, got ${plan.voltageV}`);
  }
  if (plan.maxOfflineDurationS !== undefined && !(Number.isInteger(plan.maxOfflineDurationS) && plan.maxOfflineDurationS >= 0)) {
    throw new RangeError(`maxOfflineDurationS must be an integer >= 0, got ${plan.maxOfflineDurationS}`);
  }
  if (plan.phases !== undefined && ![1, 2, 3].includes(plan.phases)) throw new RangeError(`phases must be 1, 2 or 3, got ${plan.phases}`);
  const seen = new Set<number>();
  for (const e of plan.evses) {
    if (e.kw.length !== n) throw new RangeError(`EVSE ${e.evseNodeId}: kw has ${e.kw.length} values, horizon has ${n}`);
    // Only EVSEs with a running transaction become a TxProfile; an idle EVSE only counts through
    // stationCapKw, so its OCPP id is not needed (and may be unknown).
    if (e.transactionId === null) continue;
    if (!Number.isInteger(e.ocppEvseId) || e.ocppEvseId < 1) {
      // OCPP 2.0.1 K01.FR.16 (TxProfile needs evseId > 0); 1.6 connectorId 0 is the whole charge point.
      throw new RangeError(`EVSE ${e.evseNodeId}: ocppEvseId must be an integer >= 1, got ${e.ocppEvseId}`);
    }
    if (seen.has(e.ocppEvseId)) throw new RangeError(`two running transactions on ocppEvseId ${e.ocppEvseId} in the plan for ${plan.stationId}`);
    seen.add(e.ocppEvseId);
    if (plan.version === '1.6' && !/^-?\d{1,10}$/.test(e.transactionId)) {
      // OCPP 1.6 transactionId is an integer: a non-numeric id cannot belong to a 1.6 transaction.
      throw new RangeError(`EVSE ${e.evseNodeId}: 1.6 transactionId must be an integer, got ${JSON.stringify(e.transactionId)}`);
    }
    if (isV2(plan.version) && (e.transactionId.length === 0 || e.transactionId.length > 36)) {
      throw new RangeError(`EVSE ${e.evseNodeId}: ${plan.version} transactionId must have 1..36 characters`);
    }
  }
}
