import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocate, verifyAllocation, type Allocation, type AllocationInput } from '../../../optimizer/index.ts';
import { MILP_MAX_BINARIES } from '../../../optimizer/lp/milp.ts';
import { syntheticInstance } from '../../../bench/optimizer-bench.ts';
import { area, demand, evse, input, node } from './builders.ts';
import { instance, toInput } from './random-instances.ts';

const unmet = (a: Allocation): number => a.unmet.reduce((s, u) => s + u.kwh, 0);
const kwOf = (a: Allocation, id: string): number[] => a.evses.find((e) => e.evseId === id)!.kw;

/**
 * Site of 6 kW, min power 4.2 kW, two intervals of 15 min. A wants 0.5 kWh: it can never charge (on for a
 * whole interval at 4.2 kW is 1.05 kWh, more than it wants). B wants 2.1 kWh = 4.2 kW in both intervals.
 * The LP spreads power (e.g. A 2 kW + B 4 kW, then B 4.4 kW); rounding drops everything under 4.2 kW and
 * the top-up can only raise B to 6 kW in one interval: 1.5 kWh. The MILP finds 4.2 + 4.2 = 2.1 kWh.
 */
function sharedSite(): AllocationInput {
  return input(2, [area('g'), node('s', 'site', 'g', 6), evse('a', 's', 11, 4.2), evse('b', 's', 11, 4.2)], [demand('A', 'a', 0, 2, 0.5), demand('B', 'b', 0, 2, 2.1)]);
}

describe('min power: exact MILP mode vs LP plus rounding', () => {
  it('the MILP delivers energy that LP plus rounding loses, every setpoint 0 or at least the min', async () => {
    const inp = sharedSite();
    const rounding = await allocate(inp);
    const milp = await allocate({ ...inp, minPowerMode: 'milp' });
    assert.deepEqual(verifyAllocation(inp, rounding).violations, []);
    assert.deepEqual(verifyAllocation(inp, milp).violations, []);
    assert.ok(Math.abs(unmet(rounding) - 1.1) < 1e-6, `rounding leaves ${unmet(rounding)} kWh`);
    assert.ok(Math.abs(unmet(milp) - 0.5) < 1e-6, `MILP leaves ${unmet(milp)} kWh`);
    assert.deepEqual(kwOf(milp, 'b'), [4.2, 4.2]);
    assert.deepEqual(kwOf(milp, 'a'), [0, 0]);
    for (const e of milp.evses) for (const kw of e.kw) assert.ok(kw === 0 || kw >= 4.2, `${e.evseId}: ${kw}`);
    assert.equal(milp.status, 'optimal');
    assert.equal(milp.solver?.milpAreas, 1);
    assert.match(milp.reason ?? '', /grid area g: min powers exact \(MILP, 4 binaries\)/);
    assert.equal(rounding.solver?.milpAreas, undefined);
    assert.ok(milp.objective < rounding.objective);
  });

  it('says when an area has no min power (the LP is exact) and when it is too large for the MILP', async () => {
    const plain = input(2, [area('g'), node('s', 'site', 'g', 6), evse('a', 's', 11)], [demand('A', 'a', 0, 2, 2)]);
    const a = await allocate({ ...plain, minPowerMode: 'milp' });
    assert.match(a.reason ?? '', /grid area g: min powers by rounding \(no min power in the area, the LP is exact\)/);
    assert.equal(a.solver?.milpAreas, 0);

    // One session per EVSE over 96 intervals: enough EVSEs for more binaries than the threshold.
    const n = Math.ceil(MILP_MAX_BINARIES / 96) + 1;
    const nodes = [area('g', 5 * n)];
    const demands = [];
    for (let i = 0; i < n; i++) {
      nodes.push(evse(`e${i}`, 'g', 11, 4.2));
      demands.push(demand(`S${i}`, `e${i}`, 0, 96, 30));
    }
    const big = { ...input(96, nodes, demands), minPowerMode: 'milp' as const };
    const b = await allocate(big);
    assert.match(b.reason ?? '', new RegExp(`grid area g: min powers by rounding \\(${n * 96} binaries \\(over ${MILP_MAX_BINARIES}\\)`));
    assert.deepEqual(verifyAllocation(big, b).violations, []);
  });

  it('at its time limit keeps an integer solution (feasible) or falls back to rounding, and says which', async () => {
    // 10 bench sites (≈ 600 binaries) do not close in 0.6 s: either outcome of the time-out is sound.
    const inp = { ...syntheticInstance(10), method: 'lp' as const, minPowerMode: 'milp' as const, timeLimitSec: 1 };
    const a = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, a).violations, []);
    const kept = /grid area ga: integer solver stopped at its time limit: best integer solution used, not proven optimal/.test(a.reason ?? '');
    const fellBack = /grid area ga: no integer solution within 0\.\d s: LP plus rounding instead/.test(a.reason ?? '');
    assert.ok(kept !== fellBack, a.reason);
    if (kept) {
      assert.equal(a.status, 'feasible');
      assert.equal(a.solver?.milpAreas, 1);
      assert.match(a.reason ?? '', /min powers exact \(MILP, \d+ binaries, best found in time\)/);
    } else {
      // The LP keeps its reserved share of the time even when glpk overran the MILP's.
      assert.equal(a.status, 'optimal');
      assert.equal(a.solver?.milpAreas, 0);
      assert.match(a.reason ?? '', /grid area ga: min powers by rounding/);
    }
    for (const e of a.evses) for (const kw of e.kw) assert.ok(kw === 0 || kw >= 4.1, `${e.evseId}: ${kw}`);
  });

  it('an unknown mode is reported and rounding used', async () => {
    const a = await allocate({ ...sharedSite(), minPowerMode: 'exact' as unknown as 'milp' });
    assert.match(a.reason ?? '', /minPowerMode exact is unknown, 'rounding' used/);
    assert.ok(Math.abs(unmet(a) - 1.1) < 1e-6);
  });

  it('property: the MILP objective is never above the rounding one, both pass verifyAllocation', async () => {
    await fc.assert(
      fc.asyncProperty(instance, async (spec) => {
        const inp = { ...toInput(spec), method: 'lp' as const };
        const rounding = await allocate(inp);
        const milp = await allocate({ ...inp, minPowerMode: 'milp' });
        assert.deepEqual(verifyAllocation(inp, rounding).violations, []);
        assert.deepEqual(verifyAllocation(inp, milp).violations, []);
        if (milp.status !== 'optimal' && milp.status !== 'empty') return; // a MILP stopped early proves nothing
        // The rounding plan is a MILP-feasible point, so only flooring to 0.001 kW can put the MILP's
        // returned setpoints above it: at most 0.001 kW · 0.25 h · (1100 + 11) per setpoint.
        let on = 0;
        for (const e of milp.evses) for (const kw of e.kw) if (kw > 0) on++;
        const slack = 0.28 * on + 1e-6 * Math.max(1, Math.abs(rounding.objective));
        assert.ok(milp.objective <= rounding.objective + slack, `MILP ${milp.objective} > rounding ${rounding.objective}`);
      }),
      { numRuns: 25 },
    );
  });
});
