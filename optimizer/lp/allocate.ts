import type { Allocation, AllocationInput, AllocationStatus, EvseSchedule, MinPowerMode, SolveMethod, SolverReport } from '../model.ts';
import { DEFAULT_PRIORITY_OPTIONS, priorityBudgetMs, solvePriority } from '../fast/priority.ts';
import { shareHeadroom, type ShareSpec } from '../headroom.ts';
import { prepare, type Problem } from '../prepare.ts';
import { Reasons } from '../reasons.ts';
import { dropBelowMin, enforceLimits, floorSetpoints, sumUnder } from '../rounding.ts';
import { areaShares } from '../sharing.ts';
import { topUp } from '../topup.ts';
import type { AreaRange } from '../topology.ts';
import { buildAreaLp, energyFirstLp, withEnergyFloor } from './build.ts';
import { areaColumns } from './columns.ts';
import { findBinding, findUnmet, fixedObjective, planObjective } from './report.ts';
import { exportCaps, findViolations, nodeExportTotals } from '../v2g.ts';
import { glpk, type Glpk } from './solve.ts';
import { areaMode, solveStage } from './milp.ts';
import { appendPhaseRows } from './phase-rows.ts';
import { areaMixed, enforcePhaseLimits, phaseBinding, phaseModel, type PhaseModel } from '../phases.ts';

export const DEFAULT_TIME_LIMIT_SEC = 10;
/**
 * With method 'auto', an area with more variables than this goes to the priority solver: the simplex
 * takes ~0.5 s at 10 000 columns (~180 sites × 96 intervals), 10–16 s at 54 500 (1000 sites) and grows
 * faster than linearly, while the priority plans measured within 0.05 % of the optimum from 10 sites up
 * (docs/optimizer.md).
 */
export const LP_MAX_COLUMNS = 10_000;

interface Solution {
  /** Solver values per [e * count + t], then reworked in place (min-power drop, top-up) before flooring. */
  plan: Float64Array;
  failed: Set<AreaRange>;
  feasibleOnly: boolean;
  lpAreas: number;
  priorityAreas: number;
  /** Sum of the areas' proven lower bounds; NaN once an area has none. */
  lowerBound: number;
  /** EVSE indices whose session is a row of a solved area (the others contribute a constant). */
  inLp: Uint8Array;
  /** Areas whose min powers were solved exactly (minPowerMode 'milp'). */
  milpAreas: number;
}

/**
 * Schedules every EVSE of the topology over the horizon: setpoints that deliver as much of each session's
 * energy as the import limits allow, and caps for idle EVSEs that share the remaining headroom.
 *
 * Each grid area (root) is an independent LP (see build.ts). Never throws on bad input: unusable values are
 * made safe and explained in `reason`; an area whose solve fails or times out gets the safe answer
 * (0 kW everywhere, caps from the headroom split) and the status becomes 'fallback'.
 *
 * Conventions: a session counts in every interval that overlaps [arrival, departure), delivering
 * kW · Δt · (overlap share); one session per EVSE, the latest arrival wins; an EVSE without a finite
 * `maxPowerKw` is treated as 0 kW; a NaN or negative limit is 0. `objective` is the LP objective evaluated
 * on the returned (rounded) setpoints; `binding` lists the limits the plan reaches before flooring.
 *
 * After the solve: values under a session's min power are turned off, the energy and headroom this frees
 * are handed out again greedily (topup.ts), then setpoints are floored to 0.001 kW.
 */
export async function allocate(input: AllocationInput, opts: AllocateOptions = {}): Promise<Allocation> {
  const started = performance.now();
  const p = prepare(input);
  const outcome = new Reasons();
  const timeLimitSec = timeLimit(input.timeLimitSec, outcome);
  const nEv = p.tree.evseNode.length;

  if (nEv === 0 && input.demands.length === 0) {
    return assemble(p, 'empty', outcome, emptySolution(p), new Float64Array(0), started);
  }
  const method = solveMethod(input.method, outcome);
  // Mixed-phase ampere limits: exact rows in the LP; `pc` (conservative kW limits) for what knows only kW.
  const ph = phaseModel(p);
  const pc = ph ? ph.conservative : p;
  const mode = minPowerMode(input.minPowerMode, outcome);
  const sol = p.valid ? await solveAreas(p, method, timeLimitSec, started, outcome, ph, mode, opts) : emptySolution(p);
  const report = solverReport(p, sol);
  if (mode === 'milp') report.milpAreas = sol.milpAreas;
  const belowMin = dropBelowMin(p, sol.plan);
  if (belowMin > 0) {
    const skip = new Uint8Array(nEv);
    for (const a of sol.failed) skip.fill(1, a.evLo, a.evHi);
    const kwh = topUp(pc, sol.plan, skip);
    outcome.add(`${belowMin} setpoint(s) under the min power rounded down to 0${kwh > 0 ? `, ${kwh.toFixed(3)} kWh moved to other intervals` : ''}`);
  }
  const kw = floorSetpoints(p, sol.plan);
  const repaired = enforceLimits(p, kw) + (ph ? enforcePhaseLimits(p, ph.mixed, kw, ph.mixedExport) : 0);
  if (repaired > 0) outcome.add(`${repaired} setpoint(s) lowered to stay within limits after solver tolerances`);

  const status: AllocationStatus = !p.valid || sol.failed.size > 0 ? 'fallback' : sol.feasibleOnly ? 'feasible' : 'optimal';
  const out = { ...assemble(p, status, outcome, sol, kw, started, pc), solver: report };
  if (ph && p.valid) out.binding.push(...phaseBinding(p, ph.mixed, sol.plan, ph.mixedExport));
  return out;
}

/**
 * Warm start of the priority solver (issue #4; optimizer/reoptimize.ts): not part of AllocationInput, which
 * is what the orchestrator stores and digests, because a start changes how fast the bound tightens, not
 * what the answer means.
 */
export interface AllocateOptions {
  /** Multipliers by session id to start the priority solver from (fast/priority.ts, `initialMu`). */
  initialMu?: ReadonlyMap<string, number>;
  /** Called with the priority solver's multipliers (by session id) of each area it solved. */
  onMu?: (mu: Map<string, number>) => void;
}

function minPowerMode(v: MinPowerMode | undefined, outcome: Reasons): MinPowerMode {
  if (v === undefined || v === 'rounding' || v === 'milp') return v ?? 'rounding';
  outcome.add(`minPowerMode ${String(v)} is unknown, 'rounding' used`);
  return 'rounding';
}

function solveMethod(v: SolveMethod | undefined, outcome: Reasons): SolveMethod {
  if (v === undefined || v === 'auto' || v === 'lp' || v === 'priority') return v ?? 'auto';
  outcome.add(`method ${String(v)} is unknown, 'auto' used`);
  return 'auto';
}

/** Taken on the plan as solved (before the min-power drop and flooring), so the gap is the solver's own. */
function solverReport(p: Problem, sol: Solution): SolverReport {
  const planned = planObjective(p, sol.plan);
  const report: SolverReport = { lpAreas: sol.lpAreas, priorityAreas: sol.priorityAreas, planObjective: planned };
  if (sol.failed.size === 0 && Number.isFinite(sol.lowerBound)) {
    // A session with no variable (cannot charge at all) costs its whole energy in any plan (report.ts).
    report.lowerBound = sol.lowerBound + fixedObjective(p, sol.inLp);
    report.gap = Math.max(0, planned - report.lowerBound) / Math.max(1, Math.abs(planned));
  }
  return report;
}

/**
 * The safe answer without solving: 0 kW setpoints and every EVSE's cap from the headroom split, for
 * when the solver cannot be used at all (e.g. it ran past its time limit in a worker that had to be
 * stopped). Passes verifyAllocation like any other result.
 */
export function fallbackAllocation(input: AllocationInput, reason: string): Allocation {
  const started = performance.now();
  const p = prepare(input);
  const outcome = new Reasons();
  outcome.add(reason);
  const sol = emptySolution(p);
  for (const a of p.tree.roots) sol.failed.add(a);
  // Idle caps under mixed-phase nodes must keep every phase: the conservative kW limits (phases.ts).
  return assemble(p, 'fallback', outcome, sol, floorSetpoints(p, sol.plan), started, phaseModel(p)?.conservative ?? p);
}

function timeLimit(v: number | undefined, outcome: Reasons): number {
  if (v === undefined) return DEFAULT_TIME_LIMIT_SEC;
  if (Number.isFinite(v) && v > 0) return v;
  outcome.add(`timeLimitSec ${v} is invalid, ${DEFAULT_TIME_LIMIT_SEC} s used`);
  return DEFAULT_TIME_LIMIT_SEC;
}

function emptySolution(p: Problem): Solution {
  const n = p.tree.evseNode.length * p.count;
  return { plan: new Float64Array(n), failed: new Set(), feasibleOnly: false, lpAreas: 0, priorityAreas: 0, lowerBound: 0, inLp: new Uint8Array(p.tree.evseNode.length), milpAreas: 0 };
}

/**
 * Solves the areas one after another within one shared time budget, each with the simplex or the
 * priority solver (same LP, see `SolveMethod`). The simplex being unavailable is not a failure: the
 * priority solver takes its areas.
 */
async function solveAreas(p: Problem, method: SolveMethod, timeLimitSec: number, started: number, outcome: Reasons, ph: PhaseModel | null, mode: MinPowerMode, warm: AllocateOptions): Promise<Solution> {
  const sol = emptySolution(p);
  const T = p.count;
  const needy = p.tree.roots.filter((a) => hasWork(p, a));
  if (needy.length === 0) return sol;
  let g: Glpk | null = null;
  if (method !== 'priority' || p.sharing) {
    try {
      g = await glpk();
    } catch (err) {
      outcome.add(`simplex unavailable (${err instanceof Error ? err.message : String(err)}): priority solver used`);
    }
  }
  const deadline = started + timeLimitSec * 1000;
  const colOf = new Int32Array(p.tree.evseNode.length * T).fill(-1);
  for (const area of needy) {
    const areaId = p.tree.nodes[area.node]!.id;
    const cols = areaColumns(p, area);
    if (cols.colEvse.length === 0 && cols.disEvse.length === 0) continue;
    for (const e of cols.sessions) sol.inLp[e] = 1;
    // The priority solver does not model the sharing term: such an area goes to the simplex whatever its size.
    const shares = areaShares(p, area);
    const wantsPriority = method === 'priority' || (method === 'auto' && cols.colEvse.length > LP_MAX_COLUMNS);
    if (shares && wantsPriority && g !== null) outcome.add(`grid area ${areaId}: sharing policy needs the simplex (${cols.colEvse.length} variables), the priority solver does not model it`);
    if (shares && g === null) outcome.add(`grid area ${areaId}: sharing policy not applied (the priority solver does not model it)`);
    const mixed = areaMixed(ph, p, area);
    const mixedExport = areaMixed(ph, p, area, 'export');
    if (g === null || (wantsPriority && !shares)) {
      const budget = Math.min(deadline, performance.now() + priorityBudgetMs(cols.colEvse.length));
      // The priority solver knows kW limits only: mixed-phase nodes get their conservative kW limit (phases.ts).
      if (mixed.length > 0) outcome.add(`grid area ${areaId}: priority solver with conservative kW limits for the per-phase limits of ${mixed.length} mixed-phase node(s) (up to 3× less than the exact rows allow)`);
      if (mixedExport.length > 0) outcome.add(`grid area ${areaId}: priority solver with conservative kW export limits for the per-phase export limits of ${mixedExport.length} mixed-phase node(s) (up to 3× less than the exact rows allow)`);
      if (mode === 'milp') outcome.add(`grid area ${areaId}: min powers by rounding (the priority solver has no integer mode)`);
      const popts = { ...DEFAULT_PRIORITY_OPTIONS, deadline: budget, ...(warm.initialMu ? { initialMu: warm.initialMu } : {}) };
      const o = (mixed.length > 0 || mixedExport.length > 0) && ph
        ? solvePriority(ph.conservative, area, areaColumns(ph.conservative, area), sol.plan, popts)
        : solvePriority(p, area, cols, sol.plan, popts);
      warm.onMu?.(o.mu);
      sol.priorityAreas++;
      sol.feasibleOnly = true;
      sol.lowerBound += o.offset - o.bound;
      const gap = (o.bound - o.value) / Math.max(1, Math.abs(o.offset - o.value));
      // With V2G in the area (fast/priority.ts, `bound` NaN) the relaxation does not cover discharge: no proof.
      if (Number.isFinite(gap)) outcome.add(`grid area ${areaId}: priority solver (${cols.colEvse.length} variables, ${o.iterations} iterations), within ${(gap * 100).toFixed(3)} % of the LP optimum (proven bound)`);
      else outcome.add(`grid area ${areaId}: priority solver (${cols.colEvse.length} variables, ${o.iterations} iterations), no proven bound (V2G: ${o.v2gNote ?? 'discharge not covered by the relaxation'})`);
      if (p.churn > 0) outcome.add(`grid area ${areaId}: the priority solver does not apply the churn penalty`);
      continue;
    }
    const built = buildAreaLp(p, area, g, colOf, cols);
    if (!built) continue;
    if (mixed.length > 0 || mixedExport.length > 0) appendPhaseRows(p, mixed, built, g, mixedExport);
    const am = areaMode(p, built, g, mode);
    if (!am.milp && am.why) outcome.add(`grid area ${areaId}: min powers by rounding (${am.why})`);
    const now = (): number => performance.now();
    let milpUsed = am.milp;
    const first = energyFirstLp(built, g);
    if (first) {
      const before = (deadline - performance.now()) / 1000;
      const stage = before > 0 ? await solveStage(first, before, am, now) : null;
      const kwh = stage?.res;
      if (stage && !stage.milp) milpUsed = false;
      if (kwh?.ok && !kwh.feasibleOnly) withEnergyFloor(built, -kwh.z, g);
      else outcome.add(`grid area ${areaId}: the energy-first stage of the sharing policy did not solve, energy and fairness weighed together`);
    }
    const left = (deadline - performance.now()) / 1000;
    const stage = left > 0 ? await solveStage(built.lp, left, milpUsed ? am : { milp: false }, now) : null;
    const res = stage ? stage.res : { ok: false as const, reason: 'time budget used up by earlier areas' };
    if (stage?.note) outcome.add(`grid area ${areaId}: ${stage.note}`);
    milpUsed = milpUsed && stage !== null && stage.milp;
    if (am.milp && res.ok) outcome.add(`grid area ${areaId}: min powers ${milpUsed ? `exact (MILP, ${am.cuts.binaries.length} binaries${res.feasibleOnly ? ', best found in time' : ''})` : 'by rounding'}`);
    let usable = res.ok;
    if (res.ok) {
      for (let c = 0; c < built.colName.length && usable; c++) {
        const v = res.vars[built.colName[c]!];
        if (v === undefined || !Number.isFinite(v)) usable = false;
        else sol.plan[built.colEvse[c]! * T + built.colT[c]!] = Math.min(built.colUb[c]!, Math.max(0, v));
      }
      // Discharge (V2G): the setpoint is p − q (lp/v2g-rows.ts: an optimum never has both).
      for (let c = 0; c < built.disName.length && usable; c++) {
        const v = res.vars[built.disName[c]!];
        if (v === undefined || !Number.isFinite(v)) usable = false;
        else sol.plan[built.disEvse[c]! * T + built.disT[c]!]! -= Math.min(built.disUb[c]!, Math.max(0, v));
      }
    }
    if (usable && res.ok) {
      sol.lpAreas++;
      if (milpUsed) {
        // The MILP's value is not a bound on the LP optimum that `lowerBound` reports.
        sol.milpAreas++;
        sol.lowerBound = Number.NaN;
        if (res.feasibleOnly) sol.feasibleOnly = true;
      } else if (res.feasibleOnly) {
        sol.feasibleOnly = true;
        sol.lowerBound = Number.NaN;
        outcome.add(`grid area ${areaId}: solver stopped at a feasible, not proven optimal, solution`);
      } else {
        // The LP objective is the plan objective of report.ts, so its optimum is the area's bound.
        sol.lowerBound += res.z;
      }
      continue;
    }
    outcome.add(`grid area ${areaId}: ${res.ok ? 'solver returned unusable values' : res.reason}; safe fallback (0 kW, caps from headroom)`);
    sol.failed.add(area);
    sol.plan.fill(0, area.evLo * T, area.evHi * T);
  }
  return sol;
}

function hasWork(p: Problem, area: AreaRange): boolean {
  for (let e = area.evLo; e < area.evHi; e++) {
    const s = p.session[e];
    if (s && (s.energyKwh > 0 || s.v2g !== null) && s.maxKw > 0 && s.t1 > s.t0) return true;
  }
  return false;
}

/**
 * Idle positions (no session present, or the whole area fell back) take a share of the headroom;
 * an EVSE outside every grid area stays at 0.
 */
function shareSpec(p: Problem, failed: Set<AreaRange>): ShareSpec {
  const T = p.count;
  const n = p.tree.evseNode.length * T;
  const spec: ShareSpec = { idle: new Uint8Array(n), max: new Float64Array(n), min: new Float64Array(n) };
  const failedEvse = new Uint8Array(p.tree.evseNode.length);
  for (const a of failed) failedEvse.fill(1, a.evLo, a.evHi);
  for (let e = 0; e < p.tree.reachableEvses; e++) {
    const s = p.session[e];
    for (let t = 0; t < T; t++) {
      const k = e * T + t;
      const present = s !== null && s !== undefined && s.frac[t]! > 0;
      if (present && !failedEvse[e]) continue;
      spec.idle[k] = 1;
      spec.max[k] = present ? s.maxKw : p.evseMax[e]!;
      spec.min[k] = present ? s.minKw : p.evseMin[e]!;
    }
  }
  return spec;
}

/** `pc`: the problem whose kW limits the headroom split keeps (phases.ts: conservative for mixed-phase nodes). */
function assemble(p: Problem, status: AllocationStatus, outcome: Reasons, sol: Solution, kw: Float64Array, started: number, pc: Problem = p): Allocation {
  const T = p.count;
  const { tree } = p;
  const cap = kw.length > 0 ? shareHeadroom(pc, kw, shareSpec(p, sol.failed)) : kw;

  const exportCap = exportCaps(kw);
  const evses: EvseSchedule[] = [];
  tree.nodes.forEach((node, i) => {
    const e = tree.evseOf[i]!;
    if (e < 0) return;
    evses.push({
      evseId: node.id,
      sessionId: p.session[e]?.demand.sessionId ?? null,
      kw: Array.from(kw.subarray(e * T, (e + 1) * T)),
      capKw: Array.from(cap.subarray(e * T, (e + 1) * T)),
      exportCapKw: exportCap.length > 0 ? Array.from(exportCap.subarray(e * T, (e + 1) * T)) : new Array<number>(T).fill(0),
    });
  });

  const nodeTotalsKw: Record<string, number[]> = {};
  const nodeLimitsKw: Record<string, number[]> = {};
  const totals = tree.nodes.map(() => new Array<number>(T).fill(0));
  const used = new Float64Array(tree.nodes.length);
  if (cap.length > 0) {
    for (let t = 0; t < T; t++) {
      sumUnder(p, cap, t, used);
      for (const n of tree.preorder) totals[n]![t] = used[n]!;
    }
  }
  tree.nodes.forEach((node, i) => {
    nodeTotalsKw[node.id] = totals[i]!;
    nodeLimitsKw[node.id] = Array.from(p.lim.subarray(i * T, (i + 1) * T));
  });

  const violations = findViolations(p, kw);
  if (violations.length > 0) outcome.add(`${violations.length} required export(s) not met (the input asks for more than the V2G sessions can give; see violations)`);
  const reason = [outcome.toString(), p.reasons.toString()].filter((r) => r.length > 0).join('; ');
  return {
    status,
    ...(reason ? { reason } : {}),
    horizon: p.horizon,
    evses,
    nodeTotalsKw,
    nodeLimitsKw,
    ...nodeExportTotals(p, exportCap),
    violations,
    unmet: findUnmet(p, sol.plan, kw),
    binding: findBinding(p, sol.plan, p.valid ? p.tree.roots.filter((a) => !sol.failed.has(a)) : []),
    objective: planObjective(p, kw),
    solveMs: performance.now() - started,
  };
}
