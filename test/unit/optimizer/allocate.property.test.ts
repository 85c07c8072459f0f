import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocate, verifyAllocation, type Allocation, type AllocationInput, type TopologyNode } from '../../../optimizer/index.ts';
import { at } from './builders.ts';
import { instance, RUNS, toInput } from './random-instances.ts';

/**
 * An unmet session must have had no room: in every interval of its stay its EVSE is at its max, or a limit
 * on its path (itself included) is binding, or the charger is off because it cannot run below its min power.
 */
function assertNoRoomLeft(inp: AllocationInput, alloc: Allocation): void {
  const byId = new Map(inp.nodes.map((n) => [n.id, n]));
  const binding = new Set(alloc.binding.map((b) => `${b.nodeId}@${b.interval}`));
  for (const u of alloc.unmet) {
    const d = inp.demands.find((x) => x.sessionId === u.sessionId)!;
    const evseNode = byId.get(d.evseId)!;
    const kw = alloc.evses.find((e) => e.evseId === d.evseId)!.kw;
    const max = Math.min(evseNode.maxPowerKw!, d.maxPowerKw ?? Number.POSITIVE_INFINITY);
    const min = Math.max(evseNode.minPowerKw ?? 0, d.minPowerKw ?? 0);
    const path: string[] = [];
    for (let n: TopologyNode | undefined = evseNode; n; n = n.parentId === null ? undefined : byId.get(n.parentId)) path.push(n.id);
    for (let t = 0; t < inp.horizon.count; t++) {
      const start = at(t);
      if (Math.min(start + 15 * 60_000, d.departureMs) <= Math.max(start, d.arrivalMs)) continue;
      const atMax = kw[t]! >= max - 0.0011;
      const bound = path.some((id) => binding.has(`${id}@${t}`));
      const off = min > 0 && kw[t] === 0;
      assert.ok(atMax || bound || off, `session ${u.sessionId} unmet (${u.kwh} kWh) with room in interval ${t}: kw ${kw[t]}, max ${max}`);
    }
  }
}

describe('allocate on random topologies', () => {
  it('always verifies, and leaves energy unmet only when nothing more fits', async () => {
    await fc.assert(
      fc.asyncProperty(instance, async (spec) => {
        const inp = toInput(spec);
        const alloc = await allocate(inp);
        assert.ok(alloc.status === 'optimal' || alloc.status === 'empty', `status ${alloc.status}: ${alloc.reason}`);
        assert.deepEqual(verifyAllocation(inp, alloc).violations, []);
        assertNoRoomLeft(inp, alloc);
      }),
      { numRuns: RUNS },
    );
  });

  it('priority solver: always verifies, and leaves energy unmet only when nothing more fits', async () => {
    await fc.assert(
      fc.asyncProperty(instance, async (spec) => {
        const inp = { ...toInput(spec), method: 'priority' as const };
        const alloc = await allocate(inp);
        assert.ok(alloc.status === 'feasible' || alloc.status === 'empty' || alloc.status === 'optimal', `status ${alloc.status}: ${alloc.reason}`);
        assert.deepEqual(verifyAllocation(inp, alloc).violations, []);
        assertNoRoomLeft(inp, alloc);
      }),
      { numRuns: RUNS },
    );
  });

  it('never throws on corrupt values, and the safe answer still verifies', async () => {
    const corrupt = fc.constantFrom(Number.NaN, -1, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
    await fc.assert(
      fc.asyncProperty(instance, corrupt, fc.nat(), fc.nat(), async (spec, bad, i, j) => {
        const inp = toInput(spec);
        const n = inp.nodes[i % inp.nodes.length]!;
        inp.nodes[i % inp.nodes.length] = n.kind === 'evse' ? { ...n, maxPowerKw: bad } : { ...n, importLimitKw: bad };
        const d = inp.demands[j % Math.max(1, inp.demands.length)];
        if (d) inp.demands[j % inp.demands.length] = { ...d, energyKwh: bad, arrivalMs: j % 2 ? Number.NaN : d.arrivalMs };
        if (j % 3 === 0) inp.nodes.push({ id: 'stray', kind: 'evse', parentId: 'no-such-site', maxPowerKw: 11 });
        const alloc = await allocate(inp);
        assert.deepEqual(verifyAllocation(inp, alloc).violations, []);
      }),
      { numRuns: RUNS },
    );
  });
});
