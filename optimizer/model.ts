/**
 * The canonical flexibility model: the vocabulary every other part of gridflex speaks.
 *
 * Units and signs, stated once for the whole code base:
 * - power in kW, energy in kWh; positive = import (consumption, charging), negative = export (V2G).
 * - limits are magnitudes: `importKw` >= 0 caps consumption, `exportKw` >= 0 caps export.
 * - time is UTC; an interval is identified by its start in epoch milliseconds; intervals are aligned to
 *   `intervalMinutes` (15 by default) from the epoch.
 *
 * This module is pure: no I/O, no clock reads. Callers pass time in.
 */

export const DEFAULT_INTERVAL_MINUTES = 15;
export const DEFAULT_HORIZON_INTERVALS = 96;

export type NodeKind = 'grid_area' | 'connection_point' | 'cpo' | 'site' | 'station' | 'evse';

/** A node of the topology tree. Any level below grid_area may be absent; an EVSE is always a leaf. */
export interface TopologyNode {
  id: string;
  kind: NodeKind;
  /** null only for a grid area (a root). */
  parentId: string | null;
  /** Static import limit (kW), e.g. a transformer rating or a contracted connection capacity. */
  importLimitKw?: number;
  /** Static export limit (kW). */
  exportLimitKw?: number;
  /** EVSE only: maximum charge power the hardware can deliver (kW). */
  maxPowerKw?: number;
  /** EVSE only: below this the charger cannot run; it must then be off (kW). */
  minPowerKw?: number;
  /**
   * Per-phase import limit (A), e.g. a fuse or a connection given in amperes: one limit on each phase of
   * the node (docs/optimizer.md, "Phases and minimum power"). Applies with the kW limits, not instead.
   */
  importLimitA?: number;
  /** Per-phase export limit (A). */
  exportLimitA?: number;
  /**
   * Phases of the node's supply (1 or 3). Below a 1-phase node every EVSE is single-phase; for an EVSE,
   * how it connects. Unset: inherited from the nearest ancestor that states it; unknown for an EVSE, it
   * counts as the worst case (its whole current on every phase).
   */
  phaseCount?: 1 | 3;
  /** Phase-to-neutral voltage (V) used to turn this node's ampere limits into kW; default 230. */
  phaseVoltageV?: number;
  /** Single-phase EVSE or node: which phase it is on, when known (inherited like `phaseCount`). */
  phase?: 'L1' | 'L2' | 'L3';
}

export interface Horizon {
  /** Start of the first interval, epoch ms, aligned to intervalMinutes. */
  startMs: number;
  intervalMinutes: number;
  /** Number of intervals. */
  count: number;
}

/**
 * Limits for one node, one value per horizon interval. `null` means "no limit from this envelope"
 * (the static limit of the node, if any, still applies).
 */
export interface CapacityEnvelope {
  nodeId: string;
  importKw: (number | null)[];
  exportKw: (number | null)[];
}

/** What a charging session needs. */
export interface ChargingDemand {
  sessionId: string;
  evseId: string;
  /** When the EV is plugged in (epoch ms); charging is impossible before. */
  arrivalMs: number;
  /** When the EV leaves (epoch ms); charging is impossible after. */
  departureMs: number;
  /** Energy still needed by departure (kWh, >= 0). */
  energyKwh: number;
  /** Session-specific max power (kW), e.g. the EV's on-board charger; min'd with the EVSE's. */
  maxPowerKw?: number;
  /** Session-specific min power (kW) below which the charger must be off. */
  minPowerKw?: number;
  /**
   * V2G capability and state of charge (kWh): the session may discharge (negative setpoints) within its
   * SoC band, for price arbitrage or export the grid requires; `energyKwh` is then the NET energy wanted
   * (docs/optimizer.md, "V2G and export").
   */
  v2g?: V2gState;
  /**
   * Priority charging (OCPP 2.1 UsePriorityCharging / NotifyPriorityCharging): this session's energy is
   * served before that of every session without it, from the headroom under the limits (never above one).
   */
  priority?: boolean;
}

export interface V2gState {
  /** Most the EV may discharge (kW, a magnitude). */
  maxDischargeKw: number;
  /** Discharging must not take the SoC below this (kWh). */
  minSocKwh: number;
  /** SoC at arrival, or now if already plugged in (kWh). */
  socKwh: number;
  /** Battery capacity (kWh): the SoC can never exceed it. */
  capacityKwh: number;
}

/**
 * How allocate() solves each grid area (both solve the same LP, see docs/optimizer.md):
 * - 'lp': the simplex (glpk.js), exact;
 * - 'priority': Lagrangian priorities with per-interval greedy, fast, feasible by construction, with a
 *   certified bound on how far from the LP optimum it is (`Allocation.solver`);
 * - 'auto' (default): 'lp' for areas up to LP_MAX_COLUMNS variables, 'priority' above, and 'priority'
 *   whenever the simplex is unavailable.
 */
export type SolveMethod = 'auto' | 'lp' | 'priority';

export interface AllocationInput {
  horizon: Horizon;
  nodes: TopologyNode[];
  envelopes: CapacityEnvelope[];
  demands: ChargingDemand[];
  /** Solver time limit in seconds (glpk tmlim). */
  timeLimitSec?: number;
  /** Default 'auto'. */
  method?: SolveMethod;
  /**
   * Energy price per interval (any currency per kWh; may be negative), for the whole input. null or
   * missing entries count as the mean of the given ones. The cost term ranks below delivering energy
   * (docs/optimizer.md): it moves charging to cheaper intervals, never leaves a kWh undelivered.
   */
  pricePerKwh?: (number | null)[];
  /**
   * How scarce power is shared between the CPOs of a grid area (docs/optimizer.md, "Sharing"). Default
   * (absent or policy 'none'): no sharing term, energy goes by urgency and cost alone.
   */
  sharing?: SharingPolicy;
  /**
   * Penalty per kW of change of an EVSE's setpoint between two consecutive intervals of its session's stay
   * (objective units, where an unmet kWh costs 1000), so plans do not jump between EVSEs without need.
   * 0 or absent: none; at most 1 (larger values are cut to 1 and reported); 0.1 is a good default. Only the
   * simplex models it; the priority solver ignores it (docs/optimizer.md, "Churn penalty").
   */
  churnPenaltyPerKw?: number;
  /**
   * How min powers ("0 or at least min") are handled (docs/optimizer.md, "Phases and minimum power"):
   * - 'rounding' (default): the LP, then values under the min are turned off and the freed energy handed
   *   out again greedily (fast, may lose energy);
   * - 'milp': per area, a binary per variable with a min power (GLPK's branch and bound), exact within the
   *   time limit; large areas, and areas whose MILP finds no integer solution in time, use 'rounding'.
   * `reason` (and `SolverReport.milpAreas`) says which mode each area got.
   */
  minPowerMode?: MinPowerMode;
}

export type MinPowerMode = 'rounding' | 'milp';

/**
 * How scarce power is shared between the CPOs of a grid area (docs/optimizer.md, "Sharing"). CPOs are the
 * topmost nodes of kind 'cpo' under a grid area; EVSEs under no CPO take no part. In every interval where
 * at least two CPOs have an EV that can charge ("take part"):
 * - 'proportional': each is entitled to weight / Σ(weights of those CPOs) of what they draw together; a
 *   CPO gets less only when none of its EVs could use more (its sessions are met, at their max, or
 *   behind a full limit below the grid area).
 * - 'maxmin': weighted max-min fair (water-filling): a CPO that could use more has at least the
 *   power per unit of weight of every other CPO drawing power then.
 * - 'priority': `classes` by CPO node id, higher served first: a CPO gets power only when no CPO of a
 *   higher class could use more then. CPOs missing from the map are the lowest class (reported).
 * - 'fcfs': first come, first served, as OSCP deployments hand out backup capacity: `order` lists CPO ids
 *   in the order they asked; each is served fully before the next, as with classes. CPOs not in the
 *   order come last, equal among themselves (reported).
 * All rank below delivering energy (never a kWh less than without the policy) and above urgency and cost.
 * `weights` ('proportional', 'maxmin') by CPO node id (e.g. the contracted capacity); absent: all equal
 * (1). When given, a CPO missing from it, or with a non-finite or negative weight, has weight 0 (no
 * guaranteed share) and is reported. Ids naming no CPO of the topology are reported and ignored.
 */
export type SharingPolicy =
  | { policy: 'none' | 'proportional' | 'maxmin'; weights?: Record<string, number> }
  | { policy: 'priority'; classes: Record<string, number> }
  | { policy: 'fcfs'; order: string[] };

export type AllocationStatus = 'optimal' | 'feasible' | 'fallback' | 'empty';

export interface EvseSchedule {
  evseId: string;
  /** The session charging on this EVSE in the horizon, if any. */
  sessionId: string | null;
  /** Power setpoint per interval (kW). */
  kw: number[];
  /**
   * Cap per interval (kW) >= kw: the most this EVSE may draw. For an EVSE with a session it equals kw;
   * for an idle EVSE it is its share of the remaining headroom, so a session starting before the next
   * re-allocation stays within every limit.
   */
  capKw: number[];
  /**
   * Export cap per interval (kW, a magnitude >= 0): the most this EVSE may discharge (V2G). Absent or 0:
   * no discharging allowed. When kw[t] < 0 the EVSE discharges -kw[t] <= exportCapKw[t].
   */
  exportCapKw?: number[];
}

/** A limit the plan could not keep because the input asked for the impossible, as penalized slack. */
export interface LimitViolation {
  nodeId: string;
  interval: number;
  /** 'import': the node's net import is above its (possibly negative) import limit; 'export': likewise for export. */
  kind: 'import' | 'export';
  /** By how much (kW). */
  excessKw: number;
}

export interface UnmetEnergy {
  sessionId: string;
  evseId: string;
  kwh: number;
}

export interface BindingConstraint {
  nodeId: string;
  interval: number;
  kind: 'import' | 'export';
}

/** Which solver produced the plan, and how close to the LP optimum it is proven to be. */
export interface SolverReport {
  /** Grid areas solved by the simplex and by the priority solver. */
  lpAreas: number;
  priorityAreas: number;
  /** The LP objective of the plan before rounding to 0.001 kW (min form; `objective` is after rounding). */
  planObjective: number;
  /**
   * A proven lower bound on the LP optimum over the solved areas (the simplex optimum, or the priority
   * solver's Lagrangian bound); absent when an area has no bound (e.g. the simplex stopped early).
   */
  lowerBound?: number;
  /** (planObjective − lowerBound) / max(1, |planObjective|): the proven worst-case relative gap. */
  gap?: number;
  /** Grid areas whose min powers were solved exactly as a MILP (`minPowerMode: 'milp'`); absent otherwise. */
  milpAreas?: number;
}

export interface Allocation {
  status: AllocationStatus;
  /** Why the status is not 'optimal' (e.g. solver time-out, infeasible input). */
  reason?: string;
  horizon: Horizon;
  evses: EvseSchedule[];
  /** Sum of capKw under each node per interval (kW). */
  nodeTotalsKw: Record<string, number[]>;
  /** The effective import limit per node per interval (kW), after min'ing envelopes and static limits; Infinity = none. */
  nodeLimitsKw: Record<string, number[]>;
  /** Sum of exportCapKw under each node per interval (kW); present only when some EVSE may discharge. */
  nodeExportTotalsKw?: Record<string, number[]>;
  /** The effective export limit per node per interval (kW, gross discharge); Infinity = none; with nodeExportTotalsKw. */
  nodeExportLimitsKw?: Record<string, number[]>;
  unmet: UnmetEnergy[];
  binding: BindingConstraint[];
  /** Limits the input made impossible to keep (e.g. more committed export than V2G can give); empty or absent normally. */
  violations?: LimitViolation[];
  objective: number;
  solveMs: number;
  solver?: SolverReport;
}

/** Epoch ms of the start of the interval containing `ms`. */
export function alignToInterval(ms: number, intervalMinutes = DEFAULT_INTERVAL_MINUTES): number {
  const step = intervalMinutes * 60_000;
  return Math.floor(ms / step) * step;
}

export function intervalStartMs(h: Horizon, i: number): number {
  return h.startMs + i * h.intervalMinutes * 60_000;
}

export function horizonEndMs(h: Horizon): number {
  return intervalStartMs(h, h.count);
}

export function intervalHours(h: Horizon): number {
  return h.intervalMinutes / 60;
}
