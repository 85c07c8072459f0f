/**
 * The failsafe TxDefaultProfile a station gets at boot, so it stays within a safe limit per EVSE when it
 * loses gridflex (or before the first plan arrives). Pure.
 *
 * - Purpose TxDefaultProfile on evseId / connectorId 0: applies to every EVSE of the station on its own
 *   (OCPP 2.0.1 SetChargingProfileRequest.evseId: "evseId=0 applies the profile to each individual evse" — SetChargingProfile
 *   evseId description; OCPP 1.6 §3.13.2 "connectorId 0 … TxDefaultProfile applies to all connectors").
 * - Kind Relative with a single period from 0 and no duration: the limit holds for the whole of every
 *   transaction that has no TxProfile, or whose TxProfile ended or (2.1) became invalid offline
 *   (maxOfflineDuration, see profiles.ts). Relative profiles carry no startSchedule (2.0.1 K01.FR.41).
 * - Fixed id FAILSAFE_PROFILE_ID and stack level 0: a new failsafe replaces the old one (K01.FR.05;
 *   1.6 §5.16), never a clear-then-set gap.
 * Units: kW in, the station's unit out (W, or A per phase), rounded down to 0.1 like every limit.
 */
import { isV2, type OcppVersion } from './profiles.ts';
import { DEFAULT_PHASES, DEFAULT_VOLTAGE_V, floorTenth, kwToUnit, type RateUnit } from './schedule.ts';

export const FAILSAFE_PROFILE_ID = 2;
export const FAILSAFE_STACK_LEVEL = 0;

export interface FailsafeInput {
  version: OcppVersion;
  /** Limit per EVSE (kW, >= 0). */
  kwPerEvse: number;
  unit?: RateUnit;
  voltageV?: number;
  phases?: number;
}

export function failsafeSlot(stationId: string): string {
  return `${stationId}/failsafe`;
}

/** SetChargingProfile.req payload of the failsafe TxDefaultProfile. */
export function buildFailsafeProfile(f: FailsafeInput): object {
  if (!Number.isFinite(f.kwPerEvse) || f.kwPerEvse < 0) throw new RangeError(`kwPerEvse must be a finite number >= 0, got ${f.kwPerEvse}`);
  const unit = f.unit ?? 'W';
  const limit = floorTenth(kwToUnit(f.kwPerEvse, unit, f.voltageV ?? DEFAULT_VOLTAGE_V, f.phases ?? DEFAULT_PHASES));
  const period = { startPeriod: 0, limit, ...(f.phases === undefined ? {} : { numberPhases: f.phases }) };
  if (isV2(f.version)) {
    return {
      evseId: 0,
      chargingProfile: {
        id: FAILSAFE_PROFILE_ID,
        stackLevel: FAILSAFE_STACK_LEVEL,
        chargingProfilePurpose: 'TxDefaultProfile',
        chargingProfileKind: 'Relative',
        chargingSchedule: [{ id: FAILSAFE_PROFILE_ID, chargingRateUnit: unit, chargingSchedulePeriod: [period] }],
      },
    };
  }
  return {
    connectorId: 0,
    csChargingProfiles: {
      chargingProfileId: FAILSAFE_PROFILE_ID,
      stackLevel: FAILSAFE_STACK_LEVEL,
      chargingProfilePurpose: 'TxDefaultProfile',
      chargingProfileKind: 'Relative',
      chargingSchedule: { chargingRateUnit: unit, chargingSchedulePeriod: [period] },
    },
  };
}
