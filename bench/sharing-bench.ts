import { allocate, verifyAllocation, type AllocationInput, type SharingPolicy, type TopologyNode } from '../optimizer/index.ts';
import { syntheticInstance } from './optimizer-bench.ts';

/** CPOs the sites are spread over (round robin), each with a different contracted capacity and class. */
const CPOS = 4;

/** The optimizer bench's instance with its sites spread over CPOS CPOs, so every policy has work. */
function instance(sites: number): AllocationInput {
  const base = syntheticInstance(sites);
  const nodes: TopologyNode[] = [base.nodes[0]!];
  for (let c = 0; c < CPOS; c++) nodes.push({ id: `cpo${c}`, kind: 'cpo', parentId: 'ga' });
  for (const n of base.nodes.slice(1)) {
    if (n.kind === 'cpo') continue;
    nodes.push(n.kind === 'site' ? { ...n, parentId: `cpo${Number(n.id.slice(4)) % CPOS}` } : n);
  }
  return { ...base, nodes };
}

const ids = Array.from({ length: CPOS }, (_, c) => `cpo${c}`);
const POLICIES: [string, SharingPolicy | undefined][] = [
  ['none', undefined],
  ['proportional', { policy: 'proportional', weights: Object.fromEntries(ids.map((id, c) => [id, 100 * (c + 1)])) }],
  ['maxmin', { policy: 'maxmin', weights: Object.fromEntries(ids.map((id, c) => [id, 100 * (c + 1)])) }],
  ['priority', { policy: 'priority', classes: Object.fromEntries(ids.map((id, c) => [id, c % 2])) }],
  ['fcfs', { policy: 'fcfs', order: [...ids].reverse() }],
];

/**
 * allocate() on the same instance (one grid area, 4 CPOs, 96 intervals) with each sharing policy, method
 * 'lp' (sharing areas always go to the simplex): the cost of the policy's rows and of the energy-first
 * stage. Median of 3 runs for up to 100 sites.
 */
export async function sharingBench(sizes: number[] = [10, 50, 100]): Promise<string> {
  for (let i = 0; i < 2; i++) await allocate(instance(10));
  const lines = ['| sites | sessions | policy | status | ms | delivered kWh | verify |', '|---:|---:|---|---|---:|---:|---|'];
  for (const sites of sizes) {
    for (const [name, sharing] of POLICIES) {
      const input: AllocationInput = { ...instance(sites), method: 'lp', ...(sharing ? { sharing } : {}) };
      const times: number[] = [];
      let alloc = await allocate(input);
      for (let r = 0; r < (sites <= 100 ? 3 : 1); r++) {
        const t0 = performance.now();
        alloc = await allocate(input);
        times.push(performance.now() - t0);
      }
      const ms = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
      const kwh = input.demands.reduce((s, d) => s + d.energyKwh, 0) - alloc.unmet.reduce((s, u) => s + u.kwh, 0);
      const check = verifyAllocation(input, alloc);
      lines.push(`| ${sites} | ${input.demands.length} | ${name} | ${alloc.status} | ${ms.toFixed(0)} | ${kwh.toFixed(1)} | ${check.ok ? 'ok' : `${check.violations.length} violations`} |`);
    }
  }
  return lines.join('\n');
}
