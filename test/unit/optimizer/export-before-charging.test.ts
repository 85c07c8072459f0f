import assert from 'node:assert/strict';
import { allocate, monolithicOptimum, verifyAllocation, type AllocationInput } from '../../../optimizer/index.ts';
import { area, demand, evse, input, node } from './builders.ts';

/**
 * The priority solver plans required export before charging (fast/export-pass.ts `exportBeforeCharging`),
 * so the V2G session that gives it charges the energy back where the area has headroom. Here A (V2G,
 * 5 kWh wanted, SoC well above its floor) is alone for the first hour, its site is asked for 5 kW in the
 * second, and B fills the grid area's 11 kW in the last hour. Charging first and exporting after, A took
 * its 5 kWh in the first hour, gave 5 kWh in the second and found no headroom left to charge it back: 5 kWh
 * unmet, which the LP avoids by charging 10 kWh in the first hour.
 */
function exportThenBusy(socKwh: number, energyKwh: number): AllocationInput {
  const v2g = { maxDischargeKw: 11, minSocKwh: 12, socKwh, capacityKwh: 60 };
  const nodes = [area('g', 11), { ...node('s', 'site', 'g'), exportLimitKw: 11 }, evse('a', 's', 11, 4.1), evse('b', 'g', 11, 4.1)];
  const ask = Array.from({ length: 12 }, (_, t) => (t >= 4 && t < 8 ? -5 : null));
  const required = { nodeId: 's', importKw: ask, exportKw: new Array<null>(12).fill(null) };
  return { ...input(12, nodes, [demand('A', 'a', 0, 12, energyKwh, { v2g }), demand('B', 'b', 8, 12, 11)], [required]), method: 'priority' };
}

describe('priority solver: required export planned before charging', () => {
  it('charges the exported energy back before the export when later headroom is taken (the LP optimum)', async () => {
    const inp = exportThenBusy(30, 5);
    const a = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, a).violations, []);
    assert.deepEqual(a.violations ?? [], []);
    assert.equal(a.unmet.reduce((s, u) => s + u.kwh, 0), 0, JSON.stringify(a.unmet));
    const mono = await monolithicOptimum(inp, 10);
    assert.ok(mono);
    assert.ok(Math.abs(a.solver!.planObjective - mono.objective) <= 1e-3 * Math.abs(mono.objective), `${a.solver!.planObjective} vs ${mono.objective}`);
  });

  it('keeps the SoC under the capacity when need and export together exceed it (soc 50 + 10 + 5 > 60)', async () => {
    const inp = exportThenBusy(50, 10);
    const a = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, a).violations, []);
    assert.deepEqual(a.violations ?? [], []);
    const kw = a.evses.find((e) => e.evseId === 'a')!.kw;
    let soc = 50;
    for (const x of kw) {
      soc += x * 0.25;
      assert.ok(soc <= 60 + 1e-9 && soc >= 12 - 1e-9, `SoC ${soc}: ${JSON.stringify(kw)}`);
    }
  });

  it('at its SoC floor, charges first what it gives (fixed charging before the request)', async () => {
    const inp = exportThenBusy(12, 5);
    const a = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, a).violations, []);
    assert.deepEqual(a.violations ?? [], []);
    assert.equal(a.unmet.reduce((s, u) => s + u.kwh, 0), 0, JSON.stringify(a.unmet));
  });
});
