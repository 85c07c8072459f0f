import { effectiveExportLimits } from './limits.ts';
import { allocate, type AllocateOptions } from './lp/allocate.ts';
import { prepare } from './prepare.ts';
import { Reasons } from './reasons.ts';
import type { Allocation, AllocationInput, AllocationStatus, SharingPolicy, SolverReport, TopologyNode } from './model.ts';

/**
 * Re-optimization on change (issue #4: "a new input for one site or session does not require rebuilding
 * everything; keep the previous solution as a start where it helps").
 *
 * glpk.js has no warm-start API (no basis in or out: `solve(lp, options)` builds the problem from scratch
 * every time), so the start is kept structurally. Grid areas share no row (docs/optimizer.md, "Solvers and
 * decomposition"), so an area's result depends on that area's inputs alone: its nodes, the envelopes and
 * demands on them, and what applies to every area (horizon, prices, sharing policy for its CPOs, churn
 * penalty, method, min-power mode, time limit). The Reoptimizer keeps each area's last result under the
 * exact serialisation of those inputs (the key: no hash, so no collision can reuse a wrong result), solves
 * only the areas whose key changed, and reuses the others as they are. A horizon moving forward changes
 * every key, so everything is solved again.
 *
 * Not reused: results with status 'fallback' (a time-out may not recur). Inputs that do not split cleanly
 * into areas (duplicate node ids, nodes under no root, demands or envelopes naming unknown nodes) are
 * solved whole, as allocate() would, and the cache is cleared: allocate() reports those cases across areas.
 * Each re-solved area gets the whole `timeLimitSec` (allocate() shares it between all areas).
 *
 * Warm start (`warmStart: true`): an area solved by the priority solver (fast/priority.ts) leaves its
 * Lagrange multipliers μ by session id; the next solve of that area starts from them. They are kept when
 * the key changes for any reason, the horizon moving forward included: μ_s is the value of one more kWh
 * for session s, which does not depend on where the horizon starts (and a session that left or arrived
 * is simply absent from the map or new in it, starting at 0). Any μ ≥ 0 gives a valid bound, so a stale
 * start costs iterations at worst, never correctness. Off by default: what it gains is measured in
 * bench/reoptimize-bench.ts (docs/optimizer.md, "Re-optimization on change"). With it, a re-solved
 * priority area may differ from what a full allocate() would plan (another start, another path).
 */

export interface AreaPart {
  gridAreaId: string;
  input: AllocationInput;
  /** Exact serialisation of everything the area's result depends on. */
  key: string;
}

/** What the last `allocate` did, for tests, logs and the bench. */
export interface ReoptimizeStats {
  /** The input could not be split into areas and was solved whole. */
  whole: boolean;
  solved: string[];
  reused: string[];
}

type Solve = (input: AllocationInput, opts?: AllocateOptions) => Promise<Allocation>;

export interface ReoptimizerOptions {
  /** Start each re-solved priority-solver area from its last multipliers (see the module comment). */
  warmStart?: boolean;
}

export class Reoptimizer {
  private readonly cache = new Map<string, { key: string; allocation: Allocation }>();
  /** Per grid area: the priority solver's last multipliers by session id (warm start only). */
  private readonly mu = new Map<string, Map<string, number>>();
  private stats: ReoptimizeStats = { whole: false, solved: [], reused: [] };
  private readonly warmStart: boolean;

  constructor(
    private readonly solve: Solve = allocate,
    options: ReoptimizerOptions = {},
  ) {
    this.warmStart = options.warmStart === true;
  }

  /** The multipliers kept for an area (for tests and the bench); undefined without warm start or a priority solve. */
  multipliers(gridAreaId: string): ReadonlyMap<string, number> | undefined {
    return this.mu.get(gridAreaId);
  }

  get last(): ReoptimizeStats {
    return this.stats;
  }

  /** Same contract as allocate(): never throws on bad input. */
  async allocate(input: AllocationInput): Promise<Allocation> {
    const started = performance.now();
    const parts = splitByArea(input);
    if (!parts) {
      this.cache.clear();
      this.mu.clear();
      this.stats = { whole: true, solved: [], reused: [] };
      return this.solve(input);
    }
    const solved: string[] = [];
    const reused: string[] = [];
    const results: Allocation[] = [];
    const keep = new Set(parts.map((a) => a.gridAreaId));
    for (const id of [...this.cache.keys()]) if (!keep.has(id)) this.cache.delete(id);
    for (const id of [...this.mu.keys()]) if (!keep.has(id)) this.mu.delete(id);
    for (const part of parts) {
      const hit = this.cache.get(part.gridAreaId);
      if (hit && hit.key === part.key) {
        reused.push(part.gridAreaId);
        results.push(hit.allocation);
        continue;
      }
      const allocation = this.warmStart ? await this.solveWarm(part) : await this.solve(part.input);
      solved.push(part.gridAreaId);
      results.push(allocation);
      if (allocation.status === 'fallback') this.cache.delete(part.gridAreaId);
      else this.cache.set(part.gridAreaId, { key: part.key, allocation });
    }
    this.stats = { whole: false, solved, reused };
    return merge(input, parts, results, performance.now() - started);
  }

  private async solveWarm(part: AreaPart): Promise<Allocation> {
    const initialMu = this.mu.get(part.gridAreaId);
    let next: Map<string, number> | undefined;
    const allocation = await this.solve(part.input, { ...(initialMu ? { initialMu } : {}), onMu: (m) => (next = m) });
    // An area the simplex solved this time (e.g. it shrank under LP_MAX_COLUMNS) has no multipliers: the
    // old ones stay valid as a start should it grow again.
    if (next) this.mu.set(part.gridAreaId, next);
    return allocation;
  }
}

/** The input split by grid area, or null when it does not split cleanly (see the module comment). */
export function splitByArea(input: AllocationInput): AreaPart[] | null {
  const byId = new Map<string, TopologyNode>();
  for (const n of input.nodes) {
    if (byId.has(n.id)) return null;
    byId.set(n.id, n);
  }
  const rootOf = new Map<string, string>();
  const find = (id: string): string | null => {
    const path: string[] = [];
    let cur = byId.get(id);
    while (cur) {
      const known = rootOf.get(cur.id);
      if (known !== undefined) {
        for (const p of path) rootOf.set(p, known);
        return known;
      }
      path.push(cur.id);
      if (cur.parentId === null || cur.parentId === undefined) {
        for (const p of path) rootOf.set(p, cur.id);
        return cur.id;
      }
      if (path.length > byId.size) return null;
      cur = byId.get(cur.parentId);
    }
    return null;
  };
  const roots: string[] = [];
  const nodes = new Map<string, TopologyNode[]>();
  for (const n of input.nodes) {
    const r = find(n.id);
    if (r === null) return null;
    if (!nodes.has(r)) {
      roots.push(r);
      nodes.set(r, []);
    }
    nodes.get(r)!.push(n);
  }
  const envelopes = new Map(roots.map((r) => [r, [] as AllocationInput['envelopes']]));
  for (const env of input.envelopes) {
    const r = rootOf.get(env.nodeId);
    if (r === undefined) return null;
    envelopes.get(r)!.push(env);
  }
  const demands = new Map(roots.map((r) => [r, [] as AllocationInput['demands']]));
  for (const d of input.demands) {
    const r = rootOf.get(d.evseId);
    if (r === undefined || byId.get(d.evseId)!.kind !== 'evse') return null;
    demands.get(r)!.push(d);
  }
  return roots.map((r) => {
    const areaNodes = nodes.get(r)!;
    const cpos = new Set(areaNodes.filter((n) => n.kind === 'cpo').map((n) => n.id));
    const sharing = areaSharing(input.sharing, cpos);
    const part: AllocationInput = {
      horizon: input.horizon,
      nodes: areaNodes,
      envelopes: envelopes.get(r)!,
      demands: demands.get(r)!,
      ...(input.timeLimitSec !== undefined ? { timeLimitSec: input.timeLimitSec } : {}),
      ...(input.method !== undefined ? { method: input.method } : {}),
      ...(input.pricePerKwh !== undefined ? { pricePerKwh: input.pricePerKwh } : {}),
      ...(sharing !== undefined ? { sharing } : {}),
      ...(input.churnPenaltyPerKw !== undefined ? { churnPenaltyPerKw: input.churnPenaltyPerKw } : {}),
      ...(input.minPowerMode !== undefined ? { minPowerMode: input.minPowerMode } : {}),
    };
    return { gridAreaId: r, input: part, key: stableKey(part) };
  });
}

/**
 * The sharing policy as it concerns one area: CPO-keyed maps (weights, classes) and lists (order) cut to
 * the area's CPOs, so a change for another area's CPO does not re-solve this one.
 */
function areaSharing(s: SharingPolicy | undefined, cpos: Set<string>): SharingPolicy | undefined {
  if (s === undefined || s === null || typeof s !== 'object') return s;
  const out: Record<string, unknown> = { ...s };
  for (const field of ['weights', 'classes']) {
    const m = (s as unknown as Record<string, unknown>)[field];
    if (m && typeof m === 'object' && !Array.isArray(m)) out[field] = Object.fromEntries(Object.entries(m).filter(([id]) => cpos.has(id)));
  }
  const order = (s as unknown as Record<string, unknown>).order;
  if (Array.isArray(order)) out.order = order.filter((id) => typeof id === 'string' && cpos.has(id));
  return out as unknown as SharingPolicy;
}

/** JSON with object keys sorted, so two equal inputs give the same key whatever order their fields were set in. */
function stableKey(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) return typeof x === 'number' && !Number.isFinite(x) ? String(x) : x;
    return Object.fromEntries(Object.keys(x).sort().map((k) => [k, (x as Record<string, unknown>)[k]]));
  });
}

const RANK: Record<AllocationStatus, number> = { empty: 0, optimal: 1, feasible: 2, fallback: 3 };

/**
 * What a whole allocate() reports about export for an area whose own result has none: allocate() builds the
 * export limits of every node once any session of the instance is V2G (reporting invalid ones), and adds
 * `nodeExportTotalsKw` / `nodeExportLimitsKw` for every node once any EVSE discharges. An area solved alone
 * without V2G or discharge has neither, so the merge restates them from its input: totals 0 (nothing
 * discharges there), limits and reasons from the same `effectiveExportLimits`.
 */
function areaExport(part: AllocationInput): { totals: Record<string, number[]>; limits: Record<string, number[]>; reasons: string } {
  const p = prepare(part);
  const reasons = new Reasons();
  const T = p.count;
  const lim = effectiveExportLimits(p.tree, part.envelopes, T, reasons);
  const totals: Record<string, number[]> = {};
  const limits: Record<string, number[]> = {};
  p.tree.nodes.forEach((n, i) => {
    totals[n.id] = new Array<number>(T).fill(0);
    limits[n.id] = Array.from(lim.subarray(i * T, (i + 1) * T));
  });
  return { totals, limits, reasons: reasons.toString() };
}

/** One Allocation from the areas' results, in the order allocate() would give them (areas in input order). */
function merge(input: AllocationInput, areas: AreaPart[], parts: Allocation[], ms: number): Allocation {
  let status: AllocationStatus = 'empty';
  const reasons: string[] = [];
  const seen = new Set<string>();
  const schedules = new Map<string, Allocation['evses'][number]>();
  const out: Allocation = { status, horizon: input.horizon, evses: [], nodeTotalsKw: {}, nodeLimitsKw: {}, unmet: [], binding: [], objective: 0, solveMs: ms };
  const violations: NonNullable<Allocation['violations']> = [];
  let solver: SolverReport | undefined;
  const anyV2g = input.demands.some((d) => d.v2g !== undefined && d.v2g !== null);
  const anyExport = parts.some((a) => a.nodeExportTotalsKw !== undefined);
  if (anyExport) {
    out.nodeExportTotalsKw = {};
    out.nodeExportLimitsKw = {};
  }
  for (const [i, a] of parts.entries()) {
    if (RANK[a.status] > RANK[status]) status = a.status;
    const partV2g = areas[i]!.input.demands.some((d) => d.v2g !== undefined && d.v2g !== null);
    // The export side allocate() would report for this area as part of the whole (see `areaExport`).
    const restated = (anyExport && a.nodeExportTotalsKw === undefined) || (anyV2g && !partV2g) ? areaExport(areas[i]!.input) : null;
    if (anyExport) {
      Object.assign(out.nodeExportTotalsKw!, a.nodeExportTotalsKw ?? restated!.totals);
      Object.assign(out.nodeExportLimitsKw!, a.nodeExportLimitsKw ?? restated!.limits);
    }
    const partReasons = [a.reason ?? '', anyV2g && !partV2g ? restated!.reasons : ''].filter((r) => r.length > 0).join('; ');
    for (const r of partReasons.split('; ')) {
      if (r && !seen.has(r)) {
        seen.add(r);
        reasons.push(r);
      }
    }
    for (const e of a.evses) schedules.set(e.evseId, e);
    Object.assign(out.nodeTotalsKw, a.nodeTotalsKw);
    Object.assign(out.nodeLimitsKw, a.nodeLimitsKw);
    out.unmet.push(...a.unmet);
    out.binding.push(...a.binding);
    if (a.violations) violations.push(...a.violations);
    out.objective += a.objective;
    if (a.solver) solver = addReports(solver, a.solver);
  }
  for (const n of input.nodes) {
    const s = schedules.get(n.id);
    if (s) out.evses.push(s);
  }
  out.status = status;
  if (reasons.length > 0) out.reason = reasons.join('; ');
  if (violations.length > 0) out.violations = violations;
  if (solver) out.solver = solver;
  return out;
}

function addReports(a: SolverReport | undefined, b: SolverReport): SolverReport {
  if (!a) return { ...b };
  const out: SolverReport = { lpAreas: a.lpAreas + b.lpAreas, priorityAreas: a.priorityAreas + b.priorityAreas, planObjective: a.planObjective + b.planObjective };
  if (a.lowerBound !== undefined && b.lowerBound !== undefined) {
    out.lowerBound = a.lowerBound + b.lowerBound;
    out.gap = Math.max(0, out.planObjective - out.lowerBound) / Math.max(1, Math.abs(out.planObjective));
  }
  if (a.milpAreas !== undefined || b.milpAreas !== undefined) out.milpAreas = (a.milpAreas ?? 0) + (b.milpAreas ?? 0);
  return out;
}
