import { allocate, Reoptimizer, type Allocation, type AllocationInput, type TopologyNode } from '../optimizer/index.ts';
import { solvePriority } from '../optimizer/fast/priority.ts';
import { areaColumns } from '../optimizer/lp/columns.ts';
import { prepare } from '../optimizer/prepare.ts';
import { syntheticInstance } from './optimizer-bench.ts';

/**
 * Re-optimization on change (optimizer/reoptimize.ts): `areas` grid areas of `sites / areas` sites each
 * (the optimizer bench's synthetic area, a different seed per area, ids prefixed), one session changed →
 * the Reoptimizer's time (split, keys, one area solved, merge) against a full allocate() of the changed
 * input. Also checks that every area of the re-optimized result equals the full solve's.
 */
function instance(sites: number, areas: number): AllocationInput {
  const per = Math.max(1, Math.round(sites / areas));
  const out: AllocationInput = { horizon: syntheticInstance(1).horizon, nodes: [], envelopes: [], demands: [] };
  for (let a = 0; a < areas; a++) {
    const one = syntheticInstance(per, 1000 + a);
    const id = (x: string): string => `a${a}.${x}`;
    out.nodes.push(...one.nodes.map((n): TopologyNode => ({ ...n, id: id(n.id), parentId: n.parentId === null ? null : id(n.parentId) })));
    out.envelopes.push(...one.envelopes.map((e) => ({ ...e, nodeId: id(e.nodeId) })));
    out.demands.push(...one.demands.map((d) => ({ ...d, sessionId: id(d.sessionId), evseId: id(d.evseId) })));
  }
  return out;
}

function sameAreas(a: Allocation, b: Allocation): boolean {
  return JSON.stringify(a.evses) === JSON.stringify(b.evses) && JSON.stringify(a.unmet) === JSON.stringify(b.unmet) && Math.abs(a.objective - b.objective) <= 1e-9 * Math.max(1, Math.abs(b.objective));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Three rounds, each changing another session (so each round has a real change); medians reported. */
export async function reoptimizeBench(sizes: number[] = [1000]): Promise<string> {
  const rows = [
    '| sites | areas | sessions | full allocate() ms | re-optimization ms | speed-up | areas solved / reused | equal to full | nothing changed ms |',
    '|---:|---:|---:|---:|---:|---:|---|---|---:|',
  ];
  for (const sites of sizes) {
    const areas = 10;
    let inp = instance(sites, areas);
    const r = new Reoptimizer();
    await r.allocate(inp);
    const fullMs: number[] = [];
    const reMs: number[] = [];
    const idleMs: number[] = [];
    let equal = true;
    let stats = r.last;
    for (let round = 0; round < 3; round++) {
      inp = structuredClone(inp);
      inp.demands[Math.floor(((round + 1) * inp.demands.length) / 4)]!.energyKwh += 5;
      let t = performance.now();
      const full = await allocate(inp);
      fullMs.push(performance.now() - t);
      t = performance.now();
      const re = await r.allocate(inp);
      reMs.push(performance.now() - t);
      stats = r.last;
      equal &&= sameAreas(re, full);
      t = performance.now();
      await r.allocate(inp);
      idleMs.push(performance.now() - t);
    }
    const f = median(fullMs);
    const q = median(reMs);
    rows.push(`| ${sites} | ${areas} | ${inp.demands.length} | ${f.toFixed(0)} | ${q.toFixed(0)} | ${(f / q).toFixed(1)}× | ${stats.solved.length} / ${stats.reused.length} | ${equal ? 'yes' : 'NO'} | ${median(idleMs).toFixed(0)} |`);
  }
  return [rows.join('\n'), '', await warmStartBench(sizes[sizes.length - 1] ?? 1000)].join('\n');
}

/** Rounds of one-session changes in the warm-start tables (each continues from the previous round's μ). */
const WARM_ROUNDS = 6;
/** Iteration budget per price run in the solver-level table (about what the service's time budget allows). */
const WARM_ITERATIONS = 20;

/** The next round's input: one more session's energy changed (+5 kWh). */
function changeOne(inp: AllocationInput, round: number): AllocationInput {
  const next = structuredClone(inp);
  next.demands[Math.floor(((round + 1) * next.demands.length) / (WARM_ROUNDS + 2))]!.energyKwh += 5;
  return next;
}

/** Plan objective (LP, min form) and proven relative gap of a priority-solver outcome. */
function solveArea(inp: AllocationInput, maxIterations: number, initialMu?: ReadonlyMap<string, number>): { ms: number; iterations: number; objective: number; gap: number; mu: Map<string, number> } {
  const p = prepare(inp);
  const area = p.tree.roots[0]!;
  const cols = areaColumns(p, area);
  const plan = new Float64Array(p.tree.evseNode.length * p.count);
  const t = performance.now();
  const o = solvePriority(p, area, cols, plan, { relGap: 1e-4, maxIterations, deadline: Number.POSITIVE_INFINITY, ...(initialMu ? { initialMu } : {}) });
  const ms = performance.now() - t;
  const objective = o.offset - o.value;
  return { ms, iterations: o.iterations, objective, gap: (o.bound - o.value) / Math.max(1, Math.abs(objective)), mu: o.mu };
}

const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(2)} %`);
const iterationsOf = (a: Allocation): string => /(\d+) iterations/.exec(a.reason ?? '')?.[1] ?? '?';

/**
 * Priority-solver warm start (fast/priority.ts `initialMu`): one grid area of `sites` sites (the optimizer
 * bench's synthetic area, ~54 500 variables at 1000 sites: the priority solver), one session's energy changed
 * per round, each warm solve starting from the μ the previous warm solve left. Cold and warm in the same
 * process, same inputs. (a) Solver alone, a fixed budget of WARM_ITERATIONS per price run (the warm solve runs
 * the cold start's iterations too, so it does twice the iterations); a cold solve with that doubled budget
 * is shown as well, so the comparison at equal work is there. (b) The service path: the Reoptimizer with and
 * without `warmStart`, allocate()'s own time budget (the warm solve splits it between its two runs).
 */
async function warmStartBench(sites: number): Promise<string> {
  const rows = [
    `Warm start, ${sites} sites in one grid area, one session's energy +5 kWh per round (${WARM_ROUNDS} rounds, each warm start from the previous round's μ).`,
    '',
    `(a) priority solver alone, ${WARM_ITERATIONS} iterations per price run, no deadline:`,
    '',
    `| round | cold ms | cold it | cold objective | cold gap | cold ×2 it gap | warm ms | warm it | warm objective | warm gap |`,
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  let inp = syntheticInstance(sites);
  let mu = solveArea(inp, WARM_ITERATIONS).mu;
  for (let round = 0; round < WARM_ROUNDS; round++) {
    inp = changeOne(inp, round);
    const cold = solveArea(inp, WARM_ITERATIONS);
    const cold2 = solveArea(inp, 2 * WARM_ITERATIONS);
    const warm = solveArea(inp, WARM_ITERATIONS, mu);
    mu = warm.mu;
    rows.push(`| ${round + 1} | ${cold.ms.toFixed(0)} | ${cold.iterations} | ${cold.objective.toFixed(3)} | ${pct(cold.gap)} | ${pct(cold2.gap)} | ${warm.ms.toFixed(0)} | ${warm.iterations} | ${warm.objective.toFixed(3)} | ${pct(warm.gap)} |`);
  }

  rows.push('', '(b) Reoptimizer.allocate() (service path, allocate()\'s time budget), re-solve of the changed area:', '');
  rows.push('| round | cold ms | cold it | cold plan objective | cold gap | warm ms | warm it | warm plan objective | warm gap |');
  rows.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  inp = syntheticInstance(sites);
  const cold = new Reoptimizer();
  const warm = new Reoptimizer(allocate, { warmStart: true });
  await cold.allocate(inp);
  await warm.allocate(inp);
  for (let round = 0; round < WARM_ROUNDS; round++) {
    inp = changeOne(inp, round);
    let t = performance.now();
    const c = await cold.allocate(inp);
    const cMs = performance.now() - t;
    t = performance.now();
    const w = await warm.allocate(inp);
    const wMs = performance.now() - t;
    rows.push(`| ${round + 1} | ${cMs.toFixed(0)} | ${iterationsOf(c)} | ${c.solver?.planObjective.toFixed(3)} | ${pct(c.solver?.gap)} | ${wMs.toFixed(0)} | ${iterationsOf(w)} | ${w.solver?.planObjective.toFixed(3)} | ${pct(w.solver?.gap)} |`);
  }
  return rows.join('\n');
}
