import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocate, monolithicOptimum, verifyAllocation, type Allocation, type AllocationInput } from '../../../optimizer/index.ts';
import { area, demand, envelope, evse, input, node } from './builders.ts';
import { instance, RUNS, toInput } from './random-instances.ts';

/** Σ |kw[t + 1] − kw[t]| over consecutive intervals of each session's stay (what the penalty counts). */
function totalChange(inp: AllocationInput, a: Allocation): { kw: number; changes: number } {
  let kw = 0;
  let changes = 0;
  const step = inp.horizon.intervalMinutes * 60_000;
  for (const sch of a.evses) {
    const d = inp.demands.find((x) => x.sessionId === sch.sessionId && x.evseId === sch.evseId);
    if (!d) continue;
    for (let t = 0; t + 1 < inp.horizon.count; t++) {
      const s0 = inp.horizon.startMs + t * step;
      const inStay = (x: number): boolean => x + step > d.arrivalMs && x < d.departureMs;
      if (!inStay(s0) || !inStay(s0 + step)) continue;
      const delta = Math.abs(sch.kw[t + 1]! - sch.kw[t]!);
      kw += delta;
      if (delta > 1e-6) changes++;
    }
  }
  return { kw, changes };
}

/** A site whose envelope varies, three sessions that together want more than it gives, flat prices. */
function fluctuating(): AllocationInput {
  return input(
    8,
    [area('g'), node('s', 'site', 'g'), evse('a', 's', 11), evse('b', 's', 11), evse('c', 's', 22)],
    [demand('A', 'a', 0, 8, 12), demand('B', 'b', 0, 8, 14), demand('C', 'c', 0, 8, 16)],
    [envelope('s', [20, 34, 18, 40, 22, 30, 16, 36])],
  );
}

describe('churn penalty', () => {
  it('with flat prices, the same energy with fewer setpoint changes', async () => {
    const plain = { ...fluctuating(), pricePerKwh: [0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2] };
    const smooth = { ...plain, churnPenaltyPerKw: 0.1 };
    const a = await allocate(plain);
    const b = await allocate(smooth);
    assert.deepEqual(verifyAllocation(smooth, b).violations, []);
    const unmet = (x: Allocation): number => x.unmet.reduce((s, u) => s + u.kwh, 0);
    assert.ok(Math.abs(unmet(a) - unmet(b)) < 1e-6, `unmet ${unmet(a)} vs ${unmet(b)}`);
    const before = totalChange(plain, a);
    const after = totalChange(smooth, b);
    assert.ok(after.changes < before.changes, `changes without ${before.changes} (${before.kw} kW), with ${after.changes} (${after.kw} kW)`);
    assert.ok(after.kw < before.kw);
    const mono = await monolithicOptimum(smooth, 10);
    assert.ok(Math.abs(b.solver!.planObjective - mono!.objective) < 1e-6);
  });

  it('reports unusable values and cuts large ones to 1', async () => {
    const a = await allocate({ ...fluctuating(), churnPenaltyPerKw: Number.NaN });
    assert.match(a.reason ?? '', /churnPenaltyPerKw NaN is invalid, no churn penalty/);
    const b = await allocate({ ...fluctuating(), churnPenaltyPerKw: 50 });
    assert.match(b.reason ?? '', /churnPenaltyPerKw 50 cut to 1/);
  });

  it('is ignored by the priority solver, which says so', async () => {
    const a = await allocate({ ...fluctuating(), churnPenaltyPerKw: 0.1, method: 'priority' });
    assert.match(a.reason ?? '', /the priority solver does not apply the churn penalty/);
  });

  it('on random instances: never more total change than without it, same optimum as the monolithic LP', async () => {
    await fc.assert(
      fc.asyncProperty(instance, async (spec) => {
        const base = toInput(spec);
        // No min power: the drop and top-up after the solve are not part of the LP.
        const plain: AllocationInput = { ...base, nodes: base.nodes.map(({ minPowerKw: _, ...n }) => n), demands: base.demands.map(({ minPowerKw: _, ...d }) => d) };
        const smooth = { ...plain, churnPenaltyPerKw: 0.3 };
        const a = await allocate(plain);
        const b = await allocate(smooth);
        assert.deepEqual(verifyAllocation(smooth, b).violations, []);
        // Flooring to 0.001 kW can add up to 0.002 kW per pair of intervals.
        const tol = 0.002 * smooth.horizon.count * Math.max(1, b.evses.length);
        assert.ok(totalChange(smooth, b).kw <= totalChange(plain, a).kw + tol, `${totalChange(smooth, b).kw} vs ${totalChange(plain, a).kw}`);
        const mono = await monolithicOptimum(smooth, 10);
        assert.ok(mono && Math.abs(b.solver!.planObjective - mono.objective) <= 1e-6 * Math.max(1, Math.abs(mono.objective)), `${b.solver!.planObjective} vs ${mono?.objective}`);
      }),
      { numRuns: RUNS },
    );
  });
});
