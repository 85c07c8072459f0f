import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocate, monolithicOptimum, verifyAllocation, type Allocation, type AllocationInput, type SharingPolicy } from '../../../optimizer/index.ts';
import { area, demand, evse, input, node } from './builders.ts';
import { RUNS } from './random-instances.ts';
import { delivered, participantsOf, sharedInstance, toSharedInput, type PolicyName } from './sharing-instances.ts';

const kwOf = (a: Allocation, id: string): number[] => a.evses.find((e) => e.evseId === id)!.kw;

/**
 * Grid area g (30 kW) with CPOs A, B, C, one EVSE each (A's at `aMaxKw`, the others 22 kW), every EV
 * wanting more than fits. B's EV leaves at 0:30, C's at 0:45, A's at 1:00 (the horizon end): without a
 * policy urgency serves B, then C, then A.
 */
function threeCpos(sharing: SharingPolicy | undefined, aMaxKw = 22): AllocationInput {
  const inp = input(4, [
    area('g', 30),
    node('A', 'cpo', 'g'), evse('a', 'A', aMaxKw),
    node('B', 'cpo', 'g'), evse('b', 'B', 22),
    node('C', 'cpo', 'g'), evse('c', 'C', 22),
  ], [demand('SA', 'a', 0, 4, 100), demand('SB', 'b', 0, 2, 100), demand('SC', 'c', 0, 3, 100)]);
  return sharing ? { ...inp, sharing } : inp;
}

async function solved(inp: AllocationInput): Promise<Allocation> {
  const a = await allocate(inp);
  assert.equal(a.status, 'optimal', a.reason);
  assert.deepEqual(verifyAllocation(inp, a).violations, []);
  return a;
}

describe('sharing policies: hand-computed allocations', () => {
  it('without a policy, urgency alone decides', async () => {
    const a = await solved(threeCpos(undefined));
    assert.deepEqual(kwOf(a, 'b'), [22, 22, 0, 0]);
    assert.deepEqual(kwOf(a, 'c'), [8, 8, 22, 0]);
    assert.deepEqual(kwOf(a, 'a'), [0, 0, 8, 22]);
  });

  it('maxmin, equal weights: the CPOs that can use more get the same', async () => {
    const a = await solved(threeCpos({ policy: 'maxmin' }));
    assert.deepEqual(kwOf(a, 'a'), [10, 10, 15, 22]);
    assert.deepEqual(kwOf(a, 'b'), [10, 10, 0, 0]);
    assert.deepEqual(kwOf(a, 'c'), [10, 10, 15, 0]);
    assert.doesNotMatch(a.reason ?? '', /not built/);
  });

  it('maxmin hands a saturated CPO\'s unused share out evenly, where proportional lets urgency take it', async () => {
    // A's EVSE takes 5 kW: 25 kW are left for B and C.
    const mm = await solved(threeCpos({ policy: 'maxmin' }, 5));
    assert.deepEqual(kwOf(mm, 'a').slice(0, 2), [5, 5]);
    assert.deepEqual(kwOf(mm, 'b').slice(0, 2), [12.5, 12.5]);
    assert.deepEqual(kwOf(mm, 'c').slice(0, 2), [12.5, 12.5]);
    // Proportional: each is entitled to 10; the 5 kW A cannot use go by urgency, to B.
    const pr = await solved(threeCpos({ policy: 'proportional' }, 5));
    assert.deepEqual(kwOf(pr, 'b').slice(0, 2), [15, 15]);
    assert.deepEqual(kwOf(pr, 'c').slice(0, 2), [10, 10]);
  });

  it('maxmin with weights: equal power per unit of weight among the CPOs that can use more', async () => {
    // A saturated at 5; B (weight 2) and C (weight 1) share 25 as 2:1.
    const a = await solved(threeCpos({ policy: 'maxmin', weights: { A: 1, B: 2, C: 1 } }, 5));
    for (let t = 0; t < 2; t++) {
      assert.ok(Math.abs(kwOf(a, 'b')[t]! - 50 / 3) <= 0.002, `${kwOf(a, 'b')[t]}`);
      assert.ok(Math.abs(kwOf(a, 'c')[t]! - 25 / 3) <= 0.002, `${kwOf(a, 'c')[t]}`);
    }
  });

  it('priority classes: the higher class is served first, the rest by urgency', async () => {
    const a = await solved(threeCpos({ policy: 'priority', classes: { A: 2, B: 1, C: 1 } }));
    assert.deepEqual(kwOf(a, 'a'), [22, 22, 22, 22]);
    assert.deepEqual(kwOf(a, 'b'), [8, 8, 0, 0]);
    assert.deepEqual(kwOf(a, 'c'), [0, 0, 8, 0]);
  });

  it('priority classes: a lower class gets what a saturated higher class cannot use', async () => {
    const a = await solved(threeCpos({ policy: 'priority', classes: { A: 2, B: 0, C: 1 } }, 5));
    assert.deepEqual(kwOf(a, 'a'), [5, 5, 5, 5]);
    assert.deepEqual(kwOf(a, 'c'), [22, 22, 22, 0]);
    assert.deepEqual(kwOf(a, 'b'), [3, 3, 0, 0]);
  });

  it('fcfs: in the order asked; CPOs not in the order come last and are reported', async () => {
    const a = await solved(threeCpos({ policy: 'fcfs', order: ['C', 'A'] }));
    assert.deepEqual(kwOf(a, 'c'), [22, 22, 22, 0]);
    assert.deepEqual(kwOf(a, 'a'), [8, 8, 8, 22]);
    assert.deepEqual(kwOf(a, 'b'), [0, 0, 0, 0]);
    assert.match(a.reason ?? '', /CPO\(s\) B not in the fcfs order: served last, equal among themselves/);
  });

  it('never gives up energy for a policy', async () => {
    // C's EV is there for the first interval only and needs 2.75 kWh (11 kW); A is served first and needs
    // 5.5 kWh, which it can also get later: C's kWh come first, A takes the rest.
    const inp = input(2, [area('g', 22), node('A', 'cpo', 'g'), evse('a', 'A', 22), node('C', 'cpo', 'g'), evse('c', 'C', 22)], [
      demand('SA', 'a', 0, 2, 5.5), demand('SC', 'c', 0, 1, 2.75),
    ]);
    for (const sharing of [{ policy: 'fcfs', order: ['A', 'C'] }, { policy: 'priority', classes: { A: 1, C: 0 } }, { policy: 'maxmin' }] as SharingPolicy[]) {
      const a = await solved({ ...inp, sharing });
      assert.deepEqual(kwOf(a, 'c'), [11, 0], JSON.stringify(sharing));
      assert.deepEqual(kwOf(a, 'a'), [11, 11], JSON.stringify(sharing));
      assert.deepEqual(a.unmet, [], JSON.stringify(sharing));
    }
  });

  it('reports ids and classes it cannot use, never throws', async () => {
    const cases: [SharingPolicy, RegExp[]][] = [
      [{ policy: 'priority', classes: { A: 1, B: Number.NaN, X: 3 } }, [/sharing class of CPO B is NaN: lowest class used/, /sharing class of CPO C is missing/, /sharing classes name X, which is not a CPO node/]],
      [{ policy: 'priority', classes: 7 as unknown as Record<string, number> }, [/sharing classes are not an object/]],
      [{ policy: 'fcfs', order: ['A', 'A', 'g', 4 as unknown as string] }, [/names CPO A twice/, /sharing order name g, which is not a CPO node/, /entry 3 is not a CPO id/, /CPO\(s\) B, C not in the fcfs order/]],
      [{ policy: 'fcfs', order: 'A' as unknown as string[] }, [/sharing order is not an array/]],
      [{ policy: 'maxmin', weights: { A: 1, B: 1, C: 1, Z: 2 } }, [/sharing weights name Z, which is not a CPO node/]],
      [{ policy: 'lottery' } as unknown as SharingPolicy, [/sharing policy lottery is unknown/]],
    ];
    for (const [sharing, reasons] of cases) {
      const inp = threeCpos(sharing);
      const a = await allocate(inp);
      assert.deepEqual(verifyAllocation(inp, a).violations, []);
      for (const r of reasons) assert.match(a.reason ?? '', r, JSON.stringify(sharing));
    }
  });

  it('sends an area with a priority or fcfs policy to the simplex', async () => {
    const a = await allocate({ ...threeCpos({ policy: 'fcfs', order: ['C', 'A'] }), method: 'priority' });
    assert.equal(a.solver!.priorityAreas, 0);
    assert.match(a.reason ?? '', /sharing policy needs the simplex/);
    assert.deepEqual(kwOf(a, 'c'), [22, 22, 22, 0]);
  });
});

/**
 * Each policy on its own definition (sharing-instances.ts `participantsOf`: who takes part, who could use
 * more). Tolerance: 0.005 kWh per interval (0.02 kW over 15 min), for the 0.001 kW flooring of the
 * setpoints and the simplex's tolerances.
 */
const TOL_KWH = 0.005;

function weightOf(inp: AllocationInput, cpo: string): number {
  const w = (inp.sharing as { weights?: Record<string, number> }).weights;
  return w ? w[cpo]! : 1;
}

function classOf(inp: AllocationInput, cpo: string): number {
  const s = inp.sharing!;
  if (s.policy === 'priority') return s.classes[cpo]!;
  if (s.policy === 'fcfs') {
    const i = s.order.indexOf(cpo);
    return i < 0 ? Number.NEGATIVE_INFINITY : s.order.length - i;
  }
  return 0;
}

/**
 * Weighted max-min (water-filling): a CPO with weight > 0 that could use more is not below the level
 * (kWh per unit of weight) of any CPO drawing power: the move that would level the two,
 * (P_d·w_c − P_c·w_d) / (w_c + w_d) kWh, is at most the tolerance. A CPO of weight 0 has no share: it
 * may draw only when every CPO with a weight that takes part is saturated.
 */
function assertMaxmin(inp: AllocationInput, alloc: Allocation): void {
  for (const { t, part } of participantsOf(inp, alloc)) {
    if (!part.some((c) => weightOf(inp, c.cpo) > 0)) continue;
    for (const c of part) {
      const wc = weightOf(inp, c.cpo);
      if (c.saturated || !(wc > 0)) continue;
      for (const d of part) {
        if (d === c) continue;
        const wd = weightOf(inp, d.cpo);
        const move = (d.kwh * wc - c.kwh * wd) / (wc + wd);
        assert.ok(move <= TOL_KWH, `interval ${t}: CPO ${c.cpo} (weight ${wc}) got ${c.kwh} kWh and could use more, CPO ${d.cpo} (weight ${wd}) ${d.kwh} kWh`);
      }
    }
  }
}

/** Classes and fcfs: a CPO draws power in an interval only when every CPO of a higher class is saturated then. */
function assertClasses(inp: AllocationInput, alloc: Allocation): void {
  for (const { t, part } of participantsOf(inp, alloc)) {
    for (const d of part) {
      if (!(d.kwh > TOL_KWH)) continue;
      for (const c of part) {
        if (classOf(inp, c.cpo) > classOf(inp, d.cpo)) assert.ok(c.saturated, `interval ${t}: CPO ${d.cpo} (class ${classOf(inp, d.cpo)}) got ${d.kwh} kWh while CPO ${c.cpo} (class ${classOf(inp, c.cpo)}) could use more`);
      }
    }
  }
}

const checks: Record<Exclude<PolicyName, 'proportional'>, (inp: AllocationInput, alloc: Allocation) => void> = { maxmin: assertMaxmin, priority: assertClasses, fcfs: assertClasses };

describe('sharing policies on random instances', () => {
  for (const [policy, check] of Object.entries(checks) as [Exclude<PolicyName, 'proportional'>, typeof assertMaxmin][]) {
    it(`${policy}: holds on its definition, verifies, never fewer kWh than without it, equals the monolithic LP`, async () => {
      await fc.assert(
        fc.asyncProperty(sharedInstance, async (spec) => {
          const inp = toSharedInput(spec, policy);
          const alloc = await allocate(inp);
          assert.ok(alloc.status === 'optimal' || alloc.status === 'empty', `status ${alloc.status}: ${alloc.reason}`);
          assert.deepEqual(verifyAllocation(inp, alloc).violations, []);
          check(inp, alloc);
          const { sharing: _, ...plain } = inp;
          const free = delivered(inp, await allocate(plain));
          assert.ok(delivered(inp, alloc) >= free - 0.01, `with ${policy} ${delivered(inp, alloc)} kWh, without ${free} kWh`);
          const mono = await monolithicOptimum(inp, 10);
          assert.ok(mono && Math.abs(alloc.solver!.planObjective - mono.objective) <= 1e-6 * Math.max(1, Math.abs(mono.objective)), `${alloc.solver!.planObjective} vs ${mono?.objective}`);
        }),
        { numRuns: Math.ceil(RUNS / 2) },
      );
    });
  }
});
