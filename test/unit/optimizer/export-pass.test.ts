import assert from 'node:assert/strict';
import { allocate, verifyAllocation, type AllocationInput } from '../../../optimizer/index.ts';
import { syntheticInstance } from '../../../bench/optimizer-bench.ts';
import { area, demand, evse, input, node } from './builders.ts';

/**
 * The priority solver's required-export pass (fast/export-pass.ts) where the EV's SoC is at its floor: it
 * must charge before the request, in steps of at least the min power (4.1 kW), while another session
 * fills the import limit.
 */
function atFloor(socKwh: number): AllocationInput {
  const v2g = { maxDischargeKw: 11, minSocKwh: 12, socKwh, capacityKwh: 60 };
  const nodes = [area('g', 15), { ...node('s', 'site', 'g'), exportLimitKw: 15 }, evse('a', 's', 11, 4.1), evse('b', 'g', 11, 4.1)];
  const required = { nodeId: 's', importKw: [null, null, null, null, -5, -5, -5, -5, null, null, null, null], exportKw: new Array<null>(12).fill(null) };
  return { ...input(12, nodes, [demand('A', 'a', 0, 12, 10, { v2g }), demand('B', 'b', 0, 12, 100)], [required]), method: 'priority' };
}

describe('priority solver: required export from an EV at its SoC floor', () => {
  for (const soc of [12, 12.3, 13.6, 14.2]) {
    it(`meets every request (SoC ${soc} kWh, min 12, min power 4.1 kW), as the exact MILP does`, async () => {
      const inp = atFloor(soc);
      // (LP plus rounding misses some here: it plans charging under the min power and drops it.)
      const lp = await allocate({ ...inp, method: 'lp', minPowerMode: 'milp' });
      assert.deepEqual(lp.violations ?? [], []);
      const a = await allocate(inp);
      assert.deepEqual(verifyAllocation(inp, a).violations, []);
      assert.deepEqual(a.violations ?? [], [], JSON.stringify(a.evses.find((e) => e.evseId === 'a')!.kw));
    });
  }

  it('bench instance, 300 sites, 20 % V2G: meets every required export', async () => {
    const inp = { ...syntheticInstance(300, 42, 0.2), method: 'priority' as const };
    const a = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, a).violations, []);
    assert.deepEqual(a.violations ?? [], []);
  });
});
