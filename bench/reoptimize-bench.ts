import { allocate, Reoptimizer, type Allocation, type AllocationInput, type TopologyNode } from '../optimizer/index.ts';
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
  return rows.join('\n');
}
