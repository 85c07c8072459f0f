/**
 * What a charging station says it can do for smart charging, read at boot. Pure: request payloads and
 * parsers for the answers.
 *
 * - OCPP 1.6 (§9.4 Smart Charging configuration keys), GetConfiguration:
 *   ChargingScheduleMaxPeriods, ChargingScheduleAllowedChargingRateUnit ("Current", "Power" or both,
 *   comma separated), ChargeProfileMaxStackLevel, MaxChargingProfilesInstalled.
 * - OCPP 2.0.1 / 2.1 (Part 2 Appendix, SmartChargingCtrlr), GetVariables on component SmartChargingCtrlr:
 *   PeriodsPerSchedule, RateUnit ("A", "W" or both, comma separated), ProfileStackLevel, Entries
 *   (variable instance "ChargingProfiles"), Available.
 * A station that does not answer, answers a CALLERROR or reports nothing useful gets `{}`: the
 * defaults of profiles.ts apply (48 periods, unit W).
 */
import type { RateUnit } from './schedule.ts';

export interface StationCapabilities {
  /** Most periods per schedule (1.6 ChargingScheduleMaxPeriods, 2.x PeriodsPerSchedule). */
  maxPeriods?: number;
  /** Units the station accepts in a chargingSchedule. */
  rateUnits?: RateUnit[];
  /** Highest stack level the station accepts (1.6 ChargeProfileMaxStackLevel, 2.x ProfileStackLevel). */
  maxStackLevel?: number;
  /** How many profiles the station can hold (1.6 MaxChargingProfilesInstalled, 2.x Entries). */
  maxProfiles?: number;
  /** 2.x SmartChargingCtrlr.Available = false: the station has no smart charging. */
  smartCharging?: boolean;
}

export const CONFIG_KEYS_16 = ['ChargingScheduleMaxPeriods', 'ChargingScheduleAllowedChargingRateUnit', 'ChargeProfileMaxStackLevel', 'MaxChargingProfilesInstalled'] as const;

/** OCPP 1.6 GetConfiguration.req for the smart-charging keys. */
export function getConfigurationRequest16(): { key: string[] } {
  return { key: [...CONFIG_KEYS_16] };
}

interface Cv {
  component: { name: string };
  variable: { name: string; instance?: string };
}

const SMART = 'SmartChargingCtrlr';
const VARIABLES_2X: Cv[] = [
  { component: { name: SMART }, variable: { name: 'PeriodsPerSchedule' } },
  { component: { name: SMART }, variable: { name: 'RateUnit' } },
  { component: { name: SMART }, variable: { name: 'ProfileStackLevel' } },
  { component: { name: SMART }, variable: { name: 'Entries', instance: 'ChargingProfiles' } },
  { component: { name: SMART }, variable: { name: 'Available' } },
];

/** OCPP 2.0.1 / 2.1 GetVariables.req for the SmartChargingCtrlr variables (attributeType Actual by default). */
export function getVariablesRequest2x(): { getVariableData: Cv[] } {
  return { getVariableData: VARIABLES_2X.map((v) => ({ component: { ...v.component }, variable: { ...v.variable } })) };
}

function positiveInt(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.trim());
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** "Current,Power" (1.6) or "A,W" (2.x) → units. */
function rateUnits(v: string | undefined): RateUnit[] | undefined {
  if (v === undefined) return undefined;
  const out = new Set<RateUnit>();
  for (const raw of v.split(/[\s,;]+/)) {
    const t = raw.trim().toLowerCase();
    if (t === 'current' || t === 'a') out.add('A');
    if (t === 'power' || t === 'w') out.add('W');
  }
  return out.size ? [...out].sort() : undefined;
}

function compact(c: StationCapabilities): StationCapabilities {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as StationCapabilities;
}

/** Parses a 1.6 GetConfiguration.conf (unknown keys are simply absent). */
export function parseGetConfiguration16(conf: { configurationKey?: { key: string; value?: string }[] }): StationCapabilities {
  const byKey = new Map((conf.configurationKey ?? []).map((k) => [k.key, k.value]));
  return compact({
    maxPeriods: positiveInt(byKey.get('ChargingScheduleMaxPeriods')),
    rateUnits: rateUnits(byKey.get('ChargingScheduleAllowedChargingRateUnit')),
    maxStackLevel: positiveInt(byKey.get('ChargeProfileMaxStackLevel')),
    maxProfiles: positiveInt(byKey.get('MaxChargingProfilesInstalled')),
  });
}

interface GetVariableResult {
  attributeStatus: string;
  attributeValue?: string;
  component: { name: string };
  variable: { name: string; instance?: string };
}

/** Parses a 2.0.1 / 2.1 GetVariables.conf; only Accepted results count. */
export function parseGetVariables2x(conf: { getVariableResult?: GetVariableResult[] }): StationCapabilities {
  const value = (name: string) =>
    (conf.getVariableResult ?? []).find((r) => r.component.name === SMART && r.variable.name === name && r.attributeStatus === 'Accepted')?.attributeValue;
  const available = value('Available');
  return compact({
    maxPeriods: positiveInt(value('PeriodsPerSchedule')),
    rateUnits: rateUnits(value('RateUnit')),
    maxStackLevel: positiveInt(value('ProfileStackLevel')),
    maxProfiles: positiveInt(value('Entries')),
    smartCharging: available === undefined ? undefined : available.trim().toLowerCase() === 'true',
  });
}

/**
 * The unit to send to a station: W when it accepts W (or says nothing), else A. gridflex plans in kW,
 * so W loses nothing; A needs voltage and phases.
 */
export function preferredUnit(c: StationCapabilities): RateUnit {
  return !c.rateUnits || c.rateUnits.includes('W') ? 'W' : 'A';
}

/** maxPeriods to pass to buildStationProfiles: the station's value, never above the schema's 1024. */
export function usableMaxPeriods(c: StationCapabilities, fallback: number): number {
  return c.maxPeriods && c.maxPeriods >= 1 ? Math.min(c.maxPeriods, 1024) : fallback;
}
