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

/**
 * OCPP 2.1 K28 "Dynamic charging profiles from CSMS" for a V2X session whose EV runs ISO 15118-20 Dynamic
 * control mode (K19: "in Dynamic Control Mode only a single charging schedule is offered by CSMS"):
 * - chargingProfileKind = Dynamic with ONE chargingSchedulePeriod (2.1 errata §2.34, 5.5 "A dynamic
 *   charging profile consists of a charging schedule with only a single period"): the current interval's
 *   setpoint / limit / dischargeLimit, operationMode CentralSetpoint; later values follow by
 *   UpdateDynamicSchedule (dynamicScheduleUpdate21);
 * - no startSchedule: a dynamic schedule is not anchored in time, its values hold until updated;
 * - duration = `validS` and dynUpdateTime = now: K28.FR.13 / K28.FR.15, the station drops the profile (falls
 *   back to the failsafe TxDefaultProfile) when no update came for `duration` seconds after dynUpdateTime, so
 *   a setpoint never outlives gridflex by more than that; K28.FR.14 makes it valid again on the next update;
 * - no dynUpdateInterval: gridflex pushes every change (UpdateDynamicSchedule), the station need not pull
 *   (K28.FR.10 applies only when dynUpdateInterval > 0).
 */
export function buildDynamicTxProfile21(i: Omit<V2xTxInput, 'horizon' | 'kw' | 'importCapKw' | 'exportCapKw' | 'maxPeriods'> & {
  /** Current interval (kW, signed) and its caps. */
  kw: number;
  importCapKw?: number;
  exportCapKw?: number;
  intervalMinutes: number;
  /** Seconds the values stay valid without an update (schedule duration). */
  validS: number;
  nowMs: number;
}): object {
  const { kw, importCapKw, exportCapKw, intervalMinutes, validS, nowMs, ...rest } = i;
  const built = buildV2xTxProfile21({
    ...rest,
    horizon: { startMs: nowMs, intervalMinutes, count: 1 },
    kw: [kw],
    ...(importCapKw === undefined ? {} : { importCapKw: [importCapKw] }),
    ...(exportCapKw === undefined ? {} : { exportCapKw: [exportCapKw] }),
  }) as { evseId: number; chargingProfile: { chargingSchedule: Record<string, unknown>[] } & Record<string, unknown> };
  const { startSchedule: _start, ...schedule } = built.chargingProfile.chargingSchedule[0]!;
  return {
    ...built,
    chargingProfile: {
      ...built.chargingProfile,
      chargingProfileKind: 'Dynamic',
      dynUpdateTime: new Date(nowMs).toISOString(),
      chargingSchedule: [{ ...schedule, duration: validS }],
    },
  };
}

interface DynamicProfileView {
  evseId?: number;
  chargingProfile?: {
    id?: number;
    chargingProfileKind?: string;
    transactionId?: string;
    maxOfflineDuration?: number;
    chargingSchedule?: { chargingRateUnit?: string; duration?: number; chargingSchedulePeriod?: Record<string, unknown>[] }[];
  };
}

/** The parts of a Dynamic TxProfile that an UpdateDynamicSchedule cannot change. */
function dynamicShape(payload: unknown): string | undefined {
  const p = payload as DynamicProfileView;
  const cp = p?.chargingProfile;
  const s = cp?.chargingSchedule;
  if (!cp || cp.chargingProfileKind !== 'Dynamic' || !s || s.length !== 1) return undefined;
  const period = s[0]!.chargingSchedulePeriod?.[0];
  return JSON.stringify([p.evseId, cp.id, cp.transactionId, cp.maxOfflineDuration, s[0]!.chargingRateUnit, s[0]!.duration, period?.operationMode, period?.numberPhases]);
}

/**
 * True when `next` differs from the installed `current` Dynamic profile only in the values of its one
 * period (setpoint, limit, dischargeLimit): then an UpdateDynamicSchedule carries the change (K28).
 */
export function onlyDynamicValuesChanged(current: unknown, next: unknown): boolean {
  const a = dynamicShape(current);
  return a !== undefined && a === dynamicShape(next);
}

/**
 * UpdateDynamicScheduleRequest (2.1 K28) for a Dynamic TxProfile built by buildDynamicTxProfile21: its
 * chargingProfileId and the values of its one period (ChargingScheduleUpdateType). dischargeLimit is
 * always sent (0 = no discharging) so an update never leaves an older export allowance in place.
 */
export function dynamicScheduleUpdate21(profile: unknown): { chargingProfileId: number; scheduleUpdate: { setpoint?: number; limit?: number; dischargeLimit: number } } {
  const cp = (profile as DynamicProfileView).chargingProfile;
  const period = cp?.chargingSchedule?.[0]?.chargingSchedulePeriod?.[0];
  if (!cp || cp.chargingProfileKind !== 'Dynamic' || cp.id === undefined || !period) throw new RangeError('not a Dynamic charging profile');
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const setpoint = num(period.setpoint);
  const limit = num(period.limit);
  return {
    chargingProfileId: cp.id,
    scheduleUpdate: { ...(setpoint === undefined ? {} : { setpoint }), ...(limit === undefined ? {} : { limit }), dischargeLimit: num(period.dischargeLimit) ?? 0 },
  };
}

/**
 * Adds `dischargeLimit` (≤ 0) to the periods of a 2.1 ChargingStationMaxProfile request: the station's
 * total export cap. The 2.1 schema gives every ChargingSchedulePeriodType a dischargeLimit ("Limit in
 * chargingRateUnit that the EV is allowed to discharge with ... negative values"), and K01.FR.111 (2.1,
 * errata 2025-06 §2.24) only restricts a ChargingStationMaxProfile to periods "with operationMode =
 * ChargingOnly or without operationMode", which these keep (no operationMode). `limit` stays the import
 * cap. A period spanning several intervals (merged on equal import limits) gets the LARGEST export cap of
 * those intervals, so it never blocks a discharge the TxProfiles plan (they carry the exact per-interval
 * dischargeLimit); the held tail after the horizon, when it is a period of its own, gets 0.
 */
export function withStationDischargeLimit21(maxRequest: object, exportKw: number[], o: { intervalS: number; unit: RateUnit; voltageV?: number; phases?: number }): object {
  const req = maxRequest as { chargingProfile: { chargingSchedule: { chargingSchedulePeriod: { startPeriod: number }[] }[] } & Record<string, unknown> } & Record<string, unknown>;
  const sched = req.chargingProfile.chargingSchedule[0]!;
  const periods = sched.chargingSchedulePeriod;
  const n = exportKw.length;
  const out = periods.map((p, k) => {
    const from = Math.floor(p.startPeriod / o.intervalS);
    const to = k + 1 < periods.length ? Math.ceil(periods[k + 1]!.startPeriod / o.intervalS) : n;
    let kw = 0;
    for (let t = from; t < Math.min(to, n); t++) kw = Math.max(kw, exportKw[t] ?? 0);
    const v = towardZero(-Math.max(0, kw), o.unit, o.voltageV ?? DEFAULT_VOLTAGE_V, o.phases ?? DEFAULT_PHASES);
    return { ...p, dischargeLimit: v === 0 ? 0 : v };
  });
  return { ...req, chargingProfile: { ...req.chargingProfile, chargingSchedule: [{ ...sched, chargingSchedulePeriod: out }, ...req.chargingProfile.chargingSchedule.slice(1)] } };
}
