import type { AllocationInput, ChargingDemand, Horizon } from './model.ts';
import { effectiveExportLimits, effectiveLimits, pathLimits, requiredExport } from './limits.ts';
import { Reasons } from './reasons.ts';
import { buildTree, type Tree } from './topology.ts';
import { intervalValues } from './lp/columns.ts';
import { prepareSharing, type Sharing } from './sharing.ts';

/** Unmet energy costs this much per kWh in the objective; everything else is orders of magnitude smaller. */
export const UNMET_PENALTY = 1000;
/** Extra weight, as a fraction of the penalty, for a session leaving at the horizon start (linear to 0 at its end). */
export const URGENCY_BONUS = 0.1;
/**
 * Extra penalty per unmet kWh of a priority session (OCPP 2.1 use case K21 priority charging, `ChargingDemand.priority`):
 * its weight, 2000–2100, is at least 900 above any other session's (1000–1100), more than urgency (≤ 100)
 * and cost (≤ 11) together, so its energy is served first from the headroom; the limits stay hard rows, so
 * it never goes above one (sharing.ts explains how it ranks against the sharing term).
 */
export const PRIORITY_BONUS = 1000;

/** PRIORITY_BONUS for a priority session; anything but `true` or absent is reported and read as no priority. */
function priorityBonus(d: ChargingDemand, reasons: Reasons): number {
  if (d.priority === true) return PRIORITY_BONUS;
  if (d.priority !== undefined && d.priority !== false) reasons.add(`session ${d.sessionId}: priority ${String(d.priority)} is not a boolean, no priority`);
  return 0;
}

/** A charging session after validation, bound to one EVSE. */
export interface Session {
  demand: ChargingDemand;
  evse: number;
  energyKwh: number;
  /** min(EVSE max, session max); 0 when the EVSE could never reach the min power. */
  maxKw: number;
  /** max(EVSE min, session min). */
  minKw: number;
  /** Intervals [t0, t1) that overlap the stay. */
  t0: number;
  t1: number;
  /** Share of each interval during which the EV is plugged in; energy = kW · Δt · frac. */
  frac: Float64Array;
  /** Penalty per unmet kWh: earlier departures weigh a little more, priority sessions much more (PRIORITY_BONUS). */
  weight: number;
  /** Discharge (V2G) allowed and its bounds; null for plain charging (docs/optimizer.md, "V2G and export"). */
  v2g: V2gPlan | null;
}

/** A V2G session's validated discharge bounds (kW, kWh). */
export interface V2gPlan {
  /** min(the EV's maxDischargeKw, the EVSE's maxPowerKw): a bidirectional EVSE is rated both ways. */
  maxDischargeKw: number;
  minSocKwh: number;
  socKwh: number;
  capacityKwh: number;
}

export interface Problem {
  horizon: Horizon;
  count: number;
  /** Interval length in hours. */
  dtH: number;
  /** False when the horizon itself is unusable; the answer is then all zeros. */
  valid: boolean;
  tree: Tree;
  /** Effective import limit `[node * count + t]`, Infinity = none. */
  lim: Float64Array;
  /** Tightest limit from the node up to its root `[node * count + t]`. */
  pathLim: Float64Array;
  /**
   * Effective export limit (gross discharge under the node) `[node * count + t]`, Infinity = none; empty
   * (length 0) when no session may discharge (nothing for it to limit).
   */
  exportLim: Float64Array;
  /** Tightest export limit from the node up to its root `[node * count + t]`; empty like exportLim. */
  exportPathLim: Float64Array;
  /** Export required by a negative envelope import limit `[node * count + t]` (kW, 0 = none); empty when none. */
  minExport: Float64Array;
  /** Per EVSE index: hardware max and min (kW). */
  evseMax: Float64Array;
  evseMin: Float64Array;
  /** Per EVSE index: its session, if any. */
  session: (Session | null)[];
  /** Demands that could not be scheduled (unknown EVSE, or another session won the EVSE). */
  ignored: ChargingDemand[];
  /** Value per kWh delivered in each interval besides the session weight: tie-breaker − cost (lp/columns.ts). */
  intervalValue: Float64Array;
  /** Penalty per kW of setpoint change between consecutive intervals of a stay (0 = none). */
  churn: number;
  /** The CPO sharing policy (sharing.ts), null for none. */
  sharing: Sharing | null;
  reasons: Reasons;
}

function horizonCount(h: Horizon): number {
  return Number.isInteger(h.count) && h.count >= 0 ? h.count : 0;
}

function horizonValid(h: Horizon): boolean {
  return Number.isFinite(h.startMs) && Number.isFinite(h.intervalMinutes) && h.intervalMinutes > 0
    && Number.isInteger(h.count) && h.count >= 0;
}

/** An optional kW value: undefined means "not given"; an unusable value means 0 (the safe reading). */
function optionalKw(v: number | undefined, fallback: number, what: string, reasons: Reasons): number {
  if (v === undefined) return fallback;
  if (Number.isNaN(v) || v < 0) {
    reasons.add(`${what} ${v} is invalid, treated as 0`);
    return 0;
  }
  return v;
}

/**
 * Validates and indexes the input once, so the LP builder, the rounding and the headroom split all read
 * plain typed arrays. Nothing here throws on bad values: they are made safe and reported.
 */
export function prepare(input: AllocationInput): Problem {
  const reasons = new Reasons();
  const horizon = input.horizon;
  const valid = horizonValid(horizon);
  if (!valid) reasons.add(`invalid horizon (start ${horizon.startMs}, ${horizon.intervalMinutes} min, count ${horizon.count}): all setpoints are 0`);
  const count = horizonCount(horizon);
  const tree = buildTree(input.nodes, reasons);
  const lim = effectiveLimits(tree, input.envelopes, count, reasons);
  const pathLim = pathLimits(tree, lim, count);
  const minExport = requiredExport(tree, input.envelopes, count, reasons);

  const nEv = tree.evseNode.length;
  const evseMax = new Float64Array(nEv);
  const evseMin = new Float64Array(nEv);
  for (let e = 0; e < nEv; e++) {
    const node = tree.nodes[tree.evseNode[e]!]!;
    // Without a finite hardware max nothing bounds an idle EVSE's cap where no limit applies, so it gets 0.
    if (node.maxPowerKw === undefined || !Number.isFinite(node.maxPowerKw)) reasons.add(`EVSE ${node.id} has no finite maxPowerKw: treated as 0 kW`);
    evseMax[e] = Number.isFinite(node.maxPowerKw) ? optionalKw(node.maxPowerKw, 0, `EVSE ${node.id} maxPowerKw`, reasons) : 0;
    evseMin[e] = optionalKw(node.minPowerKw, 0, `EVSE ${node.id} minPowerKw`, reasons);
  }

  const dtH = valid ? horizon.intervalMinutes / 60 : 0;
  const ignored: ChargingDemand[] = [];
  const session = bindSessions(input.demands, tree, evseMax, evseMin, count, ignored, reasons);
  if (valid) for (const s of session) if (s) window(s, horizon, count, reasons);
  // Export limits only matter where a session may discharge; without one they are not built (two
  // nodes × intervals arrays, 260 MB at 10 000 sites).
  const exportLim = session.some((s) => s?.v2g) ? effectiveExportLimits(tree, input.envelopes, count, reasons) : new Float64Array(0);
  const exportPathLim = exportLim.length > 0 ? pathLimits(tree, exportLim, count) : exportLim;
  if (input.pricePerKwh !== undefined && !Array.isArray(input.pricePerKwh)) reasons.add('pricePerKwh is not an array, ignored');
  const intervalValue = intervalValues(count, Array.isArray(input.pricePerKwh) ? input.pricePerKwh : undefined);
  const sharing = prepareSharing(input.sharing, tree, reasons);
  const churn = churnPenalty(input.churnPenaltyPerKw, reasons);
  return { horizon, count, dtH, valid, tree, lim, pathLim, exportLim, exportPathLim, minExport, evseMax, evseMin, session, ignored, reasons, intervalValue, sharing, churn };
}

/** Most the churn penalty may weigh per kW of change: it stays far below a delivered kWh (1000). */
export const MAX_CHURN_PENALTY = 1;

function churnPenalty(v: number | undefined, reasons: Reasons): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    reasons.add(`churnPenaltyPerKw ${String(v)} is invalid, no churn penalty`);
    return 0;
  }
  if (v > MAX_CHURN_PENALTY) {
    reasons.add(`churnPenaltyPerKw ${v} cut to ${MAX_CHURN_PENALTY}`);
    return MAX_CHURN_PENALTY;
  }
  return v;
}

/**
 * One session per EVSE: the model's schedule names a single session. When several demands name the same
 * EVSE, the one that arrived last wins (it is the EV plugged in now or next); the others are reported.
 */
function bindSessions(demands: ChargingDemand[], tree: Tree, evseMax: Float64Array, evseMin: Float64Array, count: number, ignored: ChargingDemand[], reasons: Reasons): (Session | null)[] {
  const session: (Session | null)[] = new Array<Session | null>(evseMax.length).fill(null);
  for (const d of demands) {
    const node = tree.byId.get(d.evseId);
    const e = node === undefined ? -1 : tree.evseOf[node]!;
    if (e < 0) {
      reasons.add(`session ${d.sessionId}: EVSE ${d.evseId} is not in the topology, ignored`);
      ignored.push(d);
      continue;
    }
    const prev = session[e];
    if (prev) {
      const keep = d.arrivalMs >= prev.demand.arrivalMs ? d : prev.demand;
      const drop = keep === d ? prev.demand : d;
      reasons.add(`session ${drop.sessionId} ignored: EVSE ${d.evseId} also has session ${keep.sessionId}, which arrived later`);
      ignored.push(drop);
      if (keep === prev.demand) continue;
    }
    let energyKwh = Number.isFinite(d.energyKwh) && d.energyKwh > 0 ? d.energyKwh : 0;
    if (!(Number.isFinite(d.energyKwh) && d.energyKwh >= 0)) reasons.add(`session ${d.sessionId}: energy ${d.energyKwh} kWh is invalid, treated as 0`);
    energyKwh = socCeiling(d, energyKwh, reasons);
    let maxKw = Math.min(evseMax[e]!, optionalKw(d.maxPowerKw, Number.POSITIVE_INFINITY, `session ${d.sessionId} maxPowerKw`, reasons));
    const minKw = Math.max(evseMin[e]!, optionalKw(d.minPowerKw, 0, `session ${d.sessionId} minPowerKw`, reasons));
    if (minKw > maxKw) {
      reasons.add(`session ${d.sessionId}: min power ${minKw} kW above max ${maxKw} kW, it cannot charge`);
      maxKw = 0;
    }
    session[e] = { demand: d, evse: e, energyKwh, maxKw, minKw, t0: 0, t1: 0, frac: new Float64Array(count), weight: UNMET_PENALTY + priorityBonus(d, reasons), v2g: v2gPlan(d, evseMax[e]!, reasons) };
  }
  return session;
}

/**
 * V2G demands: the battery cannot take more than capacity − SoC, so the net energy wanted is cut to that.
 * Unusable V2G values leave it as it is.
 */
function socCeiling(d: ChargingDemand, energyKwh: number, reasons: Reasons): number {
  const v = d.v2g;
  if (v === undefined) return energyKwh;
  if (v === null || typeof v !== 'object' || !Number.isFinite(v.capacityKwh) || !Number.isFinite(v.socKwh) || v.capacityKwh < 0 || v.socKwh < 0) {
    reasons.add(`session ${d.sessionId}: v2g state is invalid (capacity and SoC must be finite and >= 0), ignored`);
    return energyKwh;
  }
  const room = Math.max(0, v.capacityKwh - v.socKwh);
  if (energyKwh > room) {
    reasons.add(`session ${d.sessionId}: ${energyKwh} kWh wanted but the battery takes only ${room} kWh (capacity ${v.capacityKwh}, SoC ${v.socKwh}), cut`);
    return room;
  }
  return energyKwh;
}

/**
 * Whether a V2G session may discharge, and within which bounds. Every value must be finite and >= 0 (as
 * verifyAllocation reads them), and the SoC must start within [minSoc, capacity]: the LP keeps the SoC
 * in that band throughout, so an EV that arrives under its min SoC (or above capacity) does not discharge.
 */
function v2gPlan(d: ChargingDemand, evseMax: number, reasons: Reasons): V2gPlan | null {
  const v = d.v2g;
  if (v === undefined || v === null || typeof v !== 'object') return null;
  const { maxDischargeKw, minSocKwh, socKwh, capacityKwh } = v;
  if (![maxDischargeKw, minSocKwh, socKwh, capacityKwh].every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) {
    if (Number.isFinite(capacityKwh) && Number.isFinite(socKwh) && capacityKwh >= 0 && socKwh >= 0) reasons.add(`session ${d.sessionId}: v2g discharge values are invalid (must be finite and >= 0), no discharge planned`);
    return null;
  }
  const max = Math.min(maxDischargeKw, evseMax);
  if (!(max > 0)) return null;
  if (socKwh < minSocKwh || socKwh > capacityKwh) {
    reasons.add(`session ${d.sessionId}: SoC ${socKwh} kWh outside [min ${minSocKwh}, capacity ${capacityKwh}], no discharge planned`);
    return null;
  }
  return { maxDischargeKw: max, minSocKwh, socKwh, capacityKwh };
}

/**
 * An interval counts for a session when it overlaps [arrival, departure); the power setpoint applies while
 * the EV is there, so a partly covered interval delivers kW · Δt · (covered share). Limits apply to the
 * power itself, whatever the share. Energy is wanted within the horizon even if departure is later.
 */
function window(s: Session, h: Horizon, count: number, reasons: Reasons): void {
  const d = s.demand;
  if (!Number.isFinite(d.arrivalMs) || !Number.isFinite(d.departureMs)) {
    reasons.add(`session ${d.sessionId}: arrival/departure not finite, it cannot charge`);
    return;
  }
  const step = h.intervalMinutes * 60_000;
  const from = Math.max(d.arrivalMs, h.startMs);
  const to = Math.min(d.departureMs, h.startMs + count * step);
  if (to > from) {
    s.t0 = Math.max(0, Math.floor((from - h.startMs) / step));
    s.t1 = Math.min(count, Math.ceil((to - h.startMs) / step));
    for (let t = s.t0; t < s.t1; t++) {
      const a = h.startMs + t * step;
      const overlap = Math.min(a + step, to) - Math.max(a, from);
      s.frac[t] = Math.max(0, Math.min(1, overlap / step));
    }
  }
  const span = count * step;
  const slack = span > 0 ? (h.startMs + span - d.departureMs) / span : 0;
  s.weight = UNMET_PENALTY * (1 + URGENCY_BONUS * Math.max(0, Math.min(1, slack))) + priorityBonus(d, reasons);
}
