import assert from 'node:assert/strict';
import fc from 'fast-check';
import { verifyAllocation, type Allocation, type AllocationInput } from '../../../optimizer/index.ts';
import { allocate, type AllocateOptions } from '../../../optimizer/lp/allocate.ts';
import { solvePriority } from '../../../optimizer/fast/priority.ts';
import { areaColumns } from '../../../optimizer/lp/columns.ts';
import { prepare } from '../../../optimizer/prepare.ts';
import { Reoptimizer } from '../../../optimizer/reoptimize.ts';
import { area, demand, evse, horizon, input, node } from './builders.ts';
import { instance, RUNS, toInput } from './random-instances.ts';

/**
 * Warm start of the priority solver (issue #4): `initialMu` by session id, `mu` out, and the Reoptimizer
 * passing an area's last multipliers to its next solve.
 */

interface Solved {
  /** LP objective (min form) of the written plans, summed over the areas. */
  objective: number;
  /** Σ (bound − value) over the areas: ≥ 0 when every bound is valid. */
  slack: number;
  mu: Map<string, number>;
}

/** Every area with the priority solver, a fixed iteration budget and no deadline: deterministic. */
function solveAll(inp: AllocationInput, maxIterations: number, initialMu?: ReadonlyMap<string, number>): Solved {
  const p = prepare(inp);
  const plan = new Float64Array(p.tree.evseNode.length * p.count);
  const out: Solved = { objective: 0, slack: 0, mu: new Map() };
  for (const a of p.tree.roots) {
    const cols = areaColumns(p, a);
    if (cols.colEvse.length === 0) continue;
    const o = solvePriority(p, a, cols, plan, { relGap: 1e-4, maxIterations, deadline: Number.POSITIVE_INFINITY, ...(initialMu ? { initialMu } : {}) });
    out.objective += o.offset - o.value;
    out.slack += o.bound - o.value;
    for (const [k, v] of o.mu) out.mu.set(k, v);
  }
  return out;
}

const change = fc.record({ pick: fc.nat(), energyKwh: fc.integer({ min: 0, max: 80 }).map((x) => x / 10) });

describe('priority solver warm start (initialMu)', () => {
  it('from the previous multipliers: feasible, bound valid, objective and proven gap never worse than a cold start in the same budget', async () => {
    await fc.assert(
      fc.asyncProperty(instance, change, fc.integer({ min: 1, max: 40 }), fc.boolean(), async (spec, ch, iters, prio) => {
        const before = toInput(spec);
        // Priority sessions (OCPP 2.1 K21) bring in the priority-first plans as candidates too.
        if (prio) before.demands.forEach((d, i) => i % 3 === 0 && (d.priority = true));
        const prev = solveAll(before, iters);
        const inp = structuredClone(before);
        if (inp.demands.length > 0) inp.demands[ch.pick % inp.demands.length]!.energyKwh = ch.energyKwh;
        const cold = solveAll(inp, iters);
        const warm = solveAll(inp, iters, prev.mu);
        assert.ok(warm.objective <= cold.objective + 1e-9 * Math.max(1, Math.abs(cold.objective)), `warm ${warm.objective} vs cold ${cold.objective}`);
        assert.ok(warm.slack >= -1e-6 * Math.max(1, Math.abs(warm.objective)), `bound below the plan by ${-warm.slack}`);
        // The cold start's iterations run too: its bound is among the warm start's, so the proven gap is no wider.
        assert.ok(warm.slack <= cold.slack + 1e-9 * Math.max(1, Math.abs(cold.objective)), `gap ${warm.slack} vs cold ${cold.slack}`);
        for (const v of warm.mu.values()) assert.ok(Number.isFinite(v) && v > 0);

        const alloc = await allocate({ ...inp, method: 'priority' }, { initialMu: prev.mu });
        assert.deepEqual(verifyAllocation(inp, alloc).violations, []);
      }),
      { numRuns: RUNS },
    );
  });

  it('reads μ by session id: a removed session is ignored, a new one starts at 0, the others keep theirs', () => {
    const nodes = [area('g', 12), node('s', 'site', 'g'), evse('a', 's', 11), evse('b', 's', 11), evse('c', 's', 11), evse('d', 's', 11)];
    const inp = input(8, nodes, [demand('A', 'a', 0, 8, 10), demand('B', 'b', 0, 4, 10), demand('C', 'c', 0, 8, 10)]);
    const first = solveAll(inp, 50);
    // Headroom is scarce: B (leaving first) and at least one other session are priced (μ > 0).
    assert.ok(first.mu.get('B')! > 0 && first.mu.size >= 2, JSON.stringify([...first.mu]));
    // B leaves, D arrives: C takes B's index in the area and D C's; neither may inherit a μ by position.
    const next = input(8, nodes, [demand('A', 'a', 0, 8, 10), demand('C', 'c', 0, 8, 10), demand('D', 'd', 2, 8, 5)]);
    const start = new Map([...first.mu, ['B', 77]]);
    const held = solveAll(next, 0, start);
    const expected = [...first.mu].filter(([id]) => id !== 'B');
    assert.deepEqual([...held.mu].sort(), expected.sort());
    // Values that are no multiplier (μ ≥ 0) are read as 0.
    const bad = solveAll(next, 0, new Map([['A', -1], ['C', Number.NaN], ['D', Number.POSITIVE_INFINITY]]));
    assert.equal(bad.mu.size, 0);
    // And the warm solve is a real solve: its bound tightens from the start and stays valid.
    const warm = solveAll(next, 50, start);
    const cold = solveAll(next, 50);
    assert.ok(warm.slack >= -1e-9 && warm.objective <= cold.objective + 1e-9 * Math.abs(cold.objective));
  });
});

describe('Reoptimizer warm start', () => {
  /** One area solved by the priority solver; records what each solve was given. */
  function recorded(): { solve: (i: AllocationInput, o?: AllocateOptions) => Promise<Allocation>; starts: (ReadonlyMap<string, number> | undefined)[] } {
    const starts: (ReadonlyMap<string, number> | undefined)[] = [];
    return {
      starts,
      solve: (i, o) => {
        starts.push(o?.initialMu);
        return allocate(i, o);
      },
    };
  }
  const nodes = [area('g', 12), node('s', 'site', 'g'), evse('a', 's', 11), evse('b', 's', 11), evse('c', 's', 11)];
  const base = (): AllocationInput => ({ ...input(8, nodes, [demand('A', 'a', 0, 8, 10), demand('B', 'b', 0, 4, 10)]), method: 'priority' });

  it('is off by default: no multipliers passed or kept', async () => {
    const rec = recorded();
    const r = new Reoptimizer(rec.solve);
    await r.allocate(base());
    const changed = base();
    changed.demands[0]!.energyKwh = 4;
    await r.allocate(changed);
    assert.deepEqual(rec.starts, [undefined, undefined]);
    assert.equal(r.multipliers('g'), undefined);
  });

  it('passes the area\'s last μ when it is re-solved, across sessions leaving, arriving and the horizon moving', async () => {
    const rec = recorded();
    const r = new Reoptimizer(rec.solve, { warmStart: true });
    const first = base();
    await r.allocate(first);
    const mu1 = r.multipliers('g');
    assert.ok(mu1 && mu1.size > 0, 'the priority solver left multipliers');
    assert.equal(rec.starts[0], undefined, 'nothing to start from at first');

    // B leaves, C arrives.
    const second = base();
    second.demands = [demand('A', 'a', 0, 8, 10), demand('C', 'c', 1, 8, 6)];
    const a2 = await r.allocate(second);
    assert.equal(rec.starts[1], mu1);
    assert.deepEqual(verifyAllocation(second, a2).violations, []);
    const mu2 = r.multipliers('g')!;
    assert.ok(!mu2.has('B'), 'a session gone is not priced any more');

    // The horizon moves one interval forward: every key changes, μ (value of a kWh per session) is kept.
    const third: AllocationInput = { ...second, horizon: { ...horizon(8), startMs: horizon(8).startMs + 15 * 60_000 } };
    const a3 = await r.allocate(third);
    assert.deepEqual(r.last.solved, ['g']);
    assert.equal(rec.starts[2], mu2);
    assert.deepEqual(verifyAllocation(third, a3).violations, []);

    // Nothing changed: reused, not solved, multipliers untouched.
    await r.allocate(structuredClone(third));
    assert.equal(rec.starts.length, 3);
  });
});
