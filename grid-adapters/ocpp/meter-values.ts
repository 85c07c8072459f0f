/**
 * OCPP meter values (1.6, 2.0.1 and 2.1) → the readings gridflex keeps: the net active power (kW) and the
 * active import and export energy registers (Wh). Pure.
 *
 * Net power = Power.Active.Import − Power.Active.Export (import positive, export negative: the project's
 * sign convention), so an EV discharging under an OCPP 2.1 CentralSetpoint profile reads negative. A
 * station reports the two directions as separate non-negative measurands (1.6 Measurand and 2.0.1/2.1
 * MeasurandEnumType both list Power.Active.Export and Energy.Active.Export.Register); a missing one
 * counts as 0 when the other is reported, so 1.6 / 2.0.1 stations that never send export read as before.
 *
 * Conventions from the specs:
 * - a sampled value without measurand is Energy.Active.Import.Register (1.6 and 2.0.1 default);
 * - without a unit, energy is in Wh and power in W; 2.0.1 adds `unitOfMeasure.multiplier` (10^m);
 * - a value without phase is the total; when only per-phase values are given, they are summed;
 * - location defaults to Outlet; values measured at the EV, cable or body are not grid power and are ignored;
 * - 1.6 values are strings; signed data (format SignedData) is not a number and is ignored.
 */
import type { MeterValue16 } from './wire-16.ts';
import type { MeterValue201 } from './wire-201.ts';

export const POWER_ACTIVE_IMPORT = 'Power.Active.Import';
export const ENERGY_ACTIVE_IMPORT_REGISTER = 'Energy.Active.Import.Register';
export const POWER_ACTIVE_EXPORT = 'Power.Active.Export';
export const ENERGY_ACTIVE_EXPORT_REGISTER = 'Energy.Active.Export.Register';

export interface MeterReading {
  timeMs: number;
  /**
   * Net active power (kW): import − export, negative while discharging; set when either direction is
   * reported (the other then counts as 0).
   */
  powerKw?: number;
  /** Active import energy register (Wh), when reported. */
  energyWh?: number;
  /** Active export energy register (Wh), when reported. */
  exportEnergyWh?: number;
}

interface Sample {
  value: number;
  measurand: string;
  phase?: string;
  location?: string;
  unit?: string;
  multiplier: number;
}

const PHASES = new Set(['L1', 'L2', 'L3', 'L1-N', 'L2-N', 'L3-N']);
const GRID_LOCATIONS = new Set(['Outlet', 'Inlet']);
const POWER_UNITS: Record<string, number> = { W: 1, kW: 1000 };
const ENERGY_UNITS: Record<string, number> = { Wh: 1, kWh: 1000 };

export function readMeterValues16(meterValues: MeterValue16[]): MeterReading[] {
  return meterValues.flatMap((mv) => {
    const samples: Sample[] = [];
    for (const sv of mv.sampledValue) {
      if (sv.format === 'SignedData') continue;
      const value = Number(sv.value);
      if (sv.value.trim() === '' || !Number.isFinite(value)) continue;
      samples.push({ value, measurand: sv.measurand ?? ENERGY_ACTIVE_IMPORT_REGISTER, phase: sv.phase, location: sv.location, unit: sv.unit, multiplier: 0 });
    }
    return reading(mv.timestamp, samples);
  });
}

export function readMeterValues201(meterValues: MeterValue201[]): MeterReading[] {
  return meterValues.flatMap((mv) => {
    const samples: Sample[] = mv.sampledValue
      .filter((sv) => Number.isFinite(sv.value))
      .map((sv) => ({
        value: sv.value,
        measurand: sv.measurand ?? ENERGY_ACTIVE_IMPORT_REGISTER,
        phase: sv.phase,
        location: sv.location,
        unit: sv.unitOfMeasure?.unit,
        multiplier: sv.unitOfMeasure?.multiplier ?? 0,
      }));
    return reading(mv.timestamp, samples);
  });
}

function reading(timestamp: string, samples: Sample[]): MeterReading[] {
  const timeMs = Date.parse(timestamp);
  if (!Number.isFinite(timeMs)) return [];
  const grid = samples.filter((s) => s.location === undefined || GRID_LOCATIONS.has(s.location));
  const of = (measurand: string) => grid.filter((s) => s.measurand === measurand);
  const importW = total(of(POWER_ACTIVE_IMPORT), POWER_UNITS, 'W');
  const exportW = total(of(POWER_ACTIVE_EXPORT), POWER_UNITS, 'W');
  const energyWh = total(of(ENERGY_ACTIVE_IMPORT_REGISTER), ENERGY_UNITS, 'Wh');
  const exportEnergyWh = total(of(ENERGY_ACTIVE_EXPORT_REGISTER), ENERGY_UNITS, 'Wh');
  if (importW === undefined && exportW === undefined && energyWh === undefined && exportEnergyWh === undefined) return [];
  const out: MeterReading = { timeMs };
  if (importW !== undefined || exportW !== undefined) out.powerKw = ((importW ?? 0) - (exportW ?? 0)) / 1000;
  if (energyWh !== undefined) out.energyWh = energyWh;
  if (exportEnergyWh !== undefined) out.exportEnergyWh = exportEnergyWh;
  return [out];
}

/** The total in base units: the phase-less value if there is one, else the sum of per-phase values. */
function total(samples: Sample[], units: Record<string, number>, defaultUnit: string): number | undefined {
  const scaled = samples.flatMap((s) => {
    const factor = units[s.unit ?? defaultUnit];
    return factor === undefined ? [] : [{ phase: s.phase, v: s.value * factor * 10 ** s.multiplier }];
  });
  const whole = scaled.find((s) => s.phase === undefined);
  if (whole) return whole.v;
  const perPhase = scaled.filter((s) => s.phase !== undefined && PHASES.has(s.phase));
  if (perPhase.length === 0) return undefined;
  // L1 and L1-N name the same conductor: count each phase once.
  const byPhase = new Map<string, number>();
  for (const s of perPhase) byPhase.set(s.phase!.slice(0, 2), s.v);
  return [...byPhase.values()].reduce((a, b) => a + b, 0);
}
