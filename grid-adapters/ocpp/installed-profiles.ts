/**
 * Which installed charging profiles are gridflex's own (pure). gridflex installs, with
 * chargingLimitSource CSO (the CSMS), exactly these slots (profiles.ts, failsafe.ts):
 *   id 1   ChargingStationMaxProfile (1.6 ChargePointMaxProfile), evse 0
 *   id 2   TxDefaultProfile (failsafe), evse 0
 *   id 100 + evseId  TxProfile on that EVSE
 * Anything else a station reports with GetChargingProfiles / ReportChargingProfiles (OCPP 2.0.1 / 2.1
 * use case K09) was not installed by gridflex: another CSMS, a local EMS, an old configuration.
 * (A profile another CSO system installed under one of gridflex's ids cannot be told apart.)
 */
import { FAILSAFE_PROFILE_ID } from './failsafe.ts';
import { STATION_MAX_PROFILE_ID, txProfileId } from './profiles.ts';

export interface InstalledProfile {
  /** evseId of the ReportChargingProfiles message the profile came in (0 = station). */
  evseId: number;
  chargingLimitSource: string;
  /** The ChargingProfileType as reported. */
  profile: { id: number; chargingProfilePurpose: string; stackLevel: number } & Record<string, unknown>;
}

/** True when the reported profile is one gridflex installs (source CSO, one of its id/purpose/EVSE slots). */
export function isGridflexProfile(p: InstalledProfile): boolean {
  if (p.chargingLimitSource !== 'CSO') return false;
  const { id, chargingProfilePurpose: purpose } = p.profile;
  if (id === STATION_MAX_PROFILE_ID) return purpose === 'ChargingStationMaxProfile' && p.evseId === 0;
  if (id === FAILSAFE_PROFILE_ID) return purpose === 'TxDefaultProfile' && p.evseId === 0;
  return purpose === 'TxProfile' && p.evseId > 0 && id === txProfileId(p.evseId);
}

/** The reported profiles gridflex did not install. */
export function foreignProfiles(reported: readonly InstalledProfile[]): InstalledProfile[] {
  return reported.filter((p) => !isGridflexProfile(p));
}

/** The ids of every profile gridflex may have installed on a station with these EVSE (connector) ids. */
export function gridflexProfileIds(ocppEvseIds: readonly number[]): number[] {
  const tx = [...new Set(ocppEvseIds)].filter((e) => Number.isInteger(e) && e > 0).sort((a, b) => a - b).map(txProfileId);
  return [STATION_MAX_PROFILE_ID, FAILSAFE_PROFILE_ID, ...tx];
}
