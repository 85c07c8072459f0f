import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocate, monolithicOptimum, verifyAllocation, type Allocation, type AllocationInput, type SharingPolicy } from '../../../optimizer/index.ts';
import { area, demand, evse, input, node, sum } from './builders.ts';
import { RUNS } from './random-instances.ts';
import { delivered, DT_H, participantsOf, sharedInstance, toSharedInput } from './sharing-instances.ts';

/** Grid area g (22 kW) with CPOs A and B, one 22 kW EVSE each; A's EV leaves at 1:00, B's at 2:00; both want more than fits. */
function twoCpos(sharing?: SharingPolicy, energyB = 100): AllocationInput {
  const inp = input(8, [area('g', 22), node('A', 'cpo', 'g'), evse('a', 'A', 22), node('B', 'cpo', 'g'), evse('b', 'B', 22)], [
    // A's EV leaves first, so without sharing urgency gives it everything.
    demand('SA', 'a', 0, 4, 100),
    demand('SB', 'b', 0, 8, energyB),
  ]);
  return sharing ? { ...inp, sharing } : inp;
}

const kwOf = (a: Allocation, id: string): number[] => a.evses.find((e) => e.evseId === id)!.kw;

describe('sharing between CPOs', () => {
  it('without a policy, urgency alone decides', async () => {
    const a = await allocate(twoCpos());
    assert.deepEqual(kwOf(a, 'a'), [22, 22, 22, 22, 0, 0, 0, 0]);
    assert.deepEqual(kwOf(a, 'b'), [0, 0, 0, 0, 22, 22, 22, 22]);
  });

  it('proportional and maxmin, equal weights, two CPOs: each gets half of the scarce capacity', async () => {
    for (const policy of ['proportional', 'maxmin'] as const) {
      const inp = twoCpos({ policy });
      const a = await allocate(inp);
      assert.equal(a.status, 'optimal');
      assert.deepEqual(verifyAllocation(inp, a).violations, []);
      assert.deepEqual(kwOf(a, 'a'), [11, 11, 11, 11, 0, 0, 0, 0]);
      assert.deepEqual(kwOf(a, 'b'), [11, 11, 11, 11, 22, 22, 22, 22]);
    }
  });

  it('proportional to the weights (e.g. contracted capacity)', async () => {
    const a = await allocate(twoCpos({ policy: 'proportional', weights: { A: 3, B: 1 } }));
    assert.deepEqual(kwOf(a, 'a'), [16.5, 16.5, 16.5, 16.5, 0, 0, 0, 0]);
    assert.deepEqual(kwOf(a, 'b'), [5.5, 5.5, 5.5, 5.5, 22, 22, 22, 22]);
  });

  it('never gives up energy for fairness: what one CPO cannot use goes to the other', async () => {
    // B needs 2.75 kWh in all (11 kW for one interval): it gets its share first, A takes the rest.
    const a = await allocate(twoCpos({ policy: 'proportional' }, 2.75));
    assert.equal(sum(kwOf(a, 'b')) * DT_H, 2.75);
    for (let t = 0; t < 4; t++) assert.equal(kwOf(a, 'a')[t]! + kwOf(a, 'b')[t]!, 22);
    assert.deepEqual(a.unmet.map((u) => u.sessionId), ['SA']);
  });

  it('reports weights it cannot use and gives those CPOs no guaranteed share', async () => {
    const a = await allocate(twoCpos({ policy: 'proportional', weights: { A: Number.NaN } }));
    assert.match(a.reason ?? '', /sharing weight of CPO A is NaN: 0 used/);
    assert.match(a.reason ?? '', /sharing weight of CPO B is missing: 0 used/);
    // Both weights 0: no share to guarantee, urgency decides.
    assert.deepEqual(kwOf(a, 'a'), [22, 22, 22, 22, 0, 0, 0, 0]);
  });

  it('sends a sharing area to the simplex even when the priority solver was asked for', async () => {
    const a = await allocate({ ...twoCpos({ policy: 'proportional' }), method: 'priority' });
    assert.equal(a.status, 'optimal');
    assert.equal(a.solver!.priorityAreas, 0);
    assert.match(a.reason ?? '', /sharing policy needs the simplex/);
    assert.deepEqual(kwOf(a, 'b'), [11, 11, 11, 11, 22, 22, 22, 22]);
  });
});

/**
 * The policy on its own definition, computed from the input only: in each interval, the CPOs "taking
 * part" are those with an EV present that can charge (energy wanted, every limit on its path > 0); each
 * is entitled to weight / Σ weights of them of the energy they get together in that interval. A CPO
 * below its entitlement must have no session, plugged in for the whole interval and still short of
 * energy, that could have taken more: each such session is at its max power or behind a full limit
 * below the grid area (its EVSE, site or CPO).
 */
function assertProportional(inp: AllocationInput, alloc: Allocation): void {
  const weights = (inp.sharing as { weights?: Record<string, number> }).weights;
  const w = (c: string): number => (weights ? weights[c]! : 1);
  for (const { t, part } of participantsOf(inp, alloc)) {
    const sumW = part.reduce((s, p) => s + w(p.cpo), 0);
    if (!(sumW > 0)) continue;
    const total = part.reduce((s, p) => s + p.kwh, 0);
    for (const { cpo, kwh, saturated } of part) {
      const entitled = (w(cpo) / sumW) * total;
      if (kwh >= entitled - 0.002) continue;
      assert.ok(saturated, `interval ${t}: CPO ${cpo} got ${kwh} kWh of ${total}, entitled to ${entitled}, yet one of its sessions could take more`);
    }
  }
}

describe('sharing policy on random instances', () => {
  it('proportional: a CPO below its share could not have used more; the LP equals the monolithic one; verifies', async () => {
    await fc.assert(
      fc.asyncProperty(sharedInstance, async (spec) => {
        const inp = toSharedInput(spec, 'proportional');
        const alloc = await allocate(inp);
        assert.ok(alloc.status === 'optimal' || alloc.status === 'empty', `status ${alloc.status}: ${alloc.reason}`);
        assert.deepEqual(verifyAllocation(inp, alloc).violations, []);
        assertProportional(inp, alloc);
        const mono = await monolithicOptimum(inp, 10);
        assert.ok(mono && Math.abs(alloc.solver!.planObjective - mono.objective) <= 1e-6 * Math.max(1, Math.abs(mono.objective)), `${alloc.solver!.planObjective} vs ${mono?.objective}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('delivers at least as much energy as without the policy (energy comes first)', async () => {
    await fc.assert(
      fc.asyncProperty(sharedInstance, async (spec) => {
        const inp = toSharedInput(spec, 'proportional');
        const { sharing: _, ...plain } = inp;
        const shared = delivered(inp, await allocate(inp));
        const free = delivered(inp, await allocate(plain));
        assert.ok(shared >= free - 0.01, `with sharing ${shared} kWh, without ${free} kWh`);
      }),
      { numRuns: RUNS },
    );
  });
});
