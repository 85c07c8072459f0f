/**
 * OCPP 2.1 V2X: a TxProfile that carries signed setpoints, so an allocation that discharges an EV
 * (negative kW) can be sent as such. Pure.
 *
 * Sign convention: gridflex plans in kW with import (charging) positive and export (discharging)
 * negative. OCPP 2.1 uses the same convention for `setpoint` ("negative values for discharging") and
 * `dischargeLimit` (≤ 0), so the conversion at this edge is units only (kW → W or A per phase).
 *
 * Per period (OCPP 2.1 K01, ChargingSchedulePeriodType):
 * - `operationMode` = CentralSetpoint: the EV follows `setpoint` as closely as it can;
 * - `limit` = the import cap of the interval (≥ setpoint when charging, 0 when discharging), and
 *   `dischargeLimit` = the export cap (≤ 0), only when the allocation allows export, so any overshoot stays
 *   within what the grid allows ("the overshoot when following setpoint must remain within these values");
 * - magnitudes are rounded DOWN to 0.1 (towards zero), never asking for more than planned in either
 *   direction.
 * Periods: one per interval, equal neighbours merged; beyond `maxPeriods`, neighbouring periods are
 * merged keeping the setpoint and caps closest to zero (conservative both ways).
 */
import type { Horizon } from '../../optimizer/model.ts';
import { txProfileId, txProfileRequest2x } from './profiles.ts';
import { DEFAULT_PHASES, DEFAULT_VOLTAGE_V, floorTenth, type RateUnit } from './schedule.ts';

export interface V2xTxInput {
  ocppEvseId: number;
  transactionId: string;
  horizon: Horizon;
  /** Signed setpoint per interval (kW; import +, export −). */
  kw: number[];
  /** Import cap per interval (kW, ≥ 0); default max(kw, 0). */
  importCapKw?: number[];
  /** Export cap per interval (kW, ≥ 0 as a magnitude); default 0 = no discharging beyond the setpoint. */
  exportCapKw?: number[];
  unit?: RateUnit;
  voltageV?: number;
  phases?: number;
  maxPeriods?: number;
  /** 2.1 maxOfflineDuration (s): past it offline, the station falls back to the failsafe TxDefaultProfile. */
  maxOfflineDurationS?: number;
}

interface Period {
  startPeriod: number;
  setpoint: number;
  limit: number;
  dischargeLimit: number;
}

/** Rounds towards zero to 0.1 in the given unit. */
function towardZero(kw: number, unit: RateUnit, voltageV: number, phases: number): number {
  if (!Number.isFinite(kw)) throw new RangeError(`setpoint must be a finite number of kW, got ${kw}`);
  const mag = Math.abs(kw) * 1000;
  const v = floorTenth(unit === 'W' ? mag : mag / (voltageV * phases));
  return kw < 0 && v !== 0 ? -v : v;
}

/** Opposite signs merge to 0 (neither charge nor discharge); same signs to the smaller magnitude. */
const closerToZero = (a: number, b: number) => (Math.sign(a) * Math.sign(b) < 0 ? 0 : Math.abs(a) <= Math.abs(b) ? a : b);

export function buildV2xTxProfile21(i: V2xTxInput): object {
  const n = i.horizon.count;
  if (i.kw.length !== n) throw new RangeError(`kw has ${i.kw.length} values, horizon has ${n}`);
  if (!Number.isInteger(i.ocppEvseId) || i.ocppEvseId < 1) throw new RangeError(`ocppEvseId must be an integer >= 1, got ${i.ocppEvseId}`);
  const unit = i.unit ?? 'W';
  const v = i.voltageV ?? DEFAULT_VOLTAGE_V;
  const ph = i.phases ?? DEFAULT_PHASES;
  const intervalS = i.horizon.intervalMinutes * 60;
  const duration = n * intervalS;
  let periods: Period[] = [];
  for (let t = 0; t < n; t++) {
    const setKw = i.kw[t]!;
    const impKw = Math.max(0, i.importCapKw?.[t] ?? Math.max(0, setKw));
    const expKw = Math.max(0, i.exportCapKw?.[t] ?? 0, -setKw);
    // The setpoint always lies within the caps.
    const p: Period = {
      startPeriod: t * intervalS,
      setpoint: towardZero(Math.min(Math.max(setKw, -expKw), impKw), unit, v, ph),
      limit: towardZero(impKw, unit, v, ph),
      dischargeLimit: towardZero(-expKw, unit, v, ph),
    };
    const last = periods[periods.length - 1];
    if (last && last.setpoint === p.setpoint && last.limit === p.limit && last.dischargeLimit === p.dischargeLimit) continue;
    periods.push(p);
  }
  const maxPeriods = Math.min(1024, i.maxPeriods ?? 1024);
  while (periods.length > maxPeriods) {
    // Merge the pair whose setpoints differ least; keep the values closest to zero.
    let best = 0;
    let bestCost = Infinity;
    for (let k = 0; k + 1 < periods.length; k++) {
      const cost = Math.abs(periods[k]!.setpoint - periods[k + 1]!.setpoint) + Math.abs(periods[k]!.limit - periods[k + 1]!.limit) + Math.abs(periods[k]!.dischargeLimit - periods[k + 1]!.dischargeLimit);
      if (cost <= bestCost) {
        bestCost = cost;
        best = k;
      }
    }
    const a = periods[best]!;
    const b = periods[best + 1]!;
    periods.splice(best, 2, { startPeriod: a.startPeriod, setpoint: closerToZero(a.setpoint, b.setpoint), limit: Math.min(a.limit, b.limit), dischargeLimit: Math.max(a.dischargeLimit, b.dischargeLimit) });
    periods = periods.filter((p, k) => k === 0 || !(p.setpoint === periods[k - 1]!.setpoint && p.limit === periods[k - 1]!.limit && p.dischargeLimit === periods[k - 1]!.dischargeLimit));
  }
  const id = txProfileId(i.ocppEvseId);
  return txProfileRequest2x({
    ocppEvseId: i.ocppEvseId,
    transactionId: i.transactionId,
    ...(i.maxOfflineDurationS === undefined ? {} : { maxOfflineDurationS: i.maxOfflineDurationS }),
    schedules: [
      {
        id,
        startSchedule: new Date(i.horizon.startMs).toISOString(),
        duration,
        chargingRateUnit: unit,
        chargingSchedulePeriod: periods.map((p) => ({
          startPeriod: p.startPeriod,
          operationMode: 'CentralSetpoint',
          setpoint: p.setpoint,
          limit: p.limit,
          ...(p.dischargeLimit < 0 ? { dischargeLimit: p.dischargeLimit } : {}),
          ...(i.phases === undefined ? {} : { numberPhases: i.phases }),
        })),
      },
    ],
  });
}
