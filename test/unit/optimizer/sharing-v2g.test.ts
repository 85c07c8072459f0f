import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocate, monolithicOptimum, verifyAllocation, type Allocation, type AllocationInput, type SharingPolicy } from '../../../optimizer/index.ts';
import { area, demand, evse, input, node } from './builders.ts';
import { RUNS } from './random-instances.ts';
import { sharedInstance, toSharedInput, type PolicyName } from './sharing-instances.ts';

const kwOf = (a: Allocation, id: string): number[] => a.evses.find((e) => e.evseId === id)!.kw;

/**
 * Grid area g (22 kW), CPO A with an 11 kW EVSE whose EV wants more than fits, CPO B with a V2G EV that
 * wants no energy (net ≤ 0). A cannot use B's share, and B can take none of it net: fairness could only be
 * "bought" by charging and discharging B's EV (cycling), which the sharing term must not reward.
 */
function cycleBait(sharing: SharingPolicy): AllocationInput {
  const v2g = { maxDischargeKw: 22, minSocKwh: 10, socKwh: 30, capacityKwh: 60 };
  return {
    ...input(4, [area('g', 22), node('A', 'cpo', 'g'), evse('a', 'A', 11), node('B', 'cpo', 'g'), evse('b', 'B', 22)], [
      demand('SA', 'a', 0, 4, 100),
      demand('SB', 'b', 0, 4, 0, { v2g }),
    ]),
    sharing,
  };
}

const policies: SharingPolicy[] = [{ policy: 'proportional' }, { policy: 'maxmin' }, { policy: 'priority', classes: { A: 0, B: 1 } }, { policy: 'fcfs', order: ['B', 'A'] }];

/**
 * Whether the sharing term applies in some interval of area `g` (docs/optimizer.md, "Terms"), from the input
 * alone: two CPOs each with an EV present then that can charge (energy wanted, every import limit on its
 * path > 0; no min powers in these instances) or discharge (V2G; no export limits here).
 */
function sharedSomewhere(inp: AllocationInput, a: { limit: number; profile?: (number | null)[] | undefined }, g: string): boolean {
  const byId = new Map(inp.nodes.map((n) => [n.id, n]));
  for (let t = 0; t < inp.horizon.count; t++) {
    const from = inp.horizon.startMs + t * 15 * 60_000;
    const cpos = new Set<string>();
    for (const d of inp.demands) {
      if (!d.evseId.startsWith(`${g}.`) || !(d.arrivalMs < from + 15 * 60_000 && d.departureMs > from)) continue;
      let open = a.limit > 0 && (a.profile?.[t] ?? 1) !== 0;
      for (let n = byId.get(d.evseId); n && n.parentId; n = byId.get(n.parentId)) open &&= (n.importLimitKw ?? 1) > 0 && (n.maxPowerKw ?? 1) > 0;
      if (d.v2g || (d.energyKwh > 0 && open)) cpos.add(d.evseId.split('.').slice(0, 2).join('.'));
    }
    if (cpos.size < 2) continue;
    // The term is not 0: weights summing to more than 0, or at least two classes (fcfs: places in the order).
    const sh = inp.sharing as { policy: string; weights?: Record<string, number>; classes?: Record<string, number>; order?: string[] };
    const ids = [...cpos];
    if (sh.policy === 'priority' && new Set(ids.map((c) => sh.classes?.[c])).size < 2) continue;
    if (sh.policy === 'fcfs' && new Set(ids.map((c) => sh.order?.indexOf(c))).size < 2) continue;
    if ((sh.policy === 'proportional' || sh.policy === 'maxmin') && !(ids.reduce((sum, c) => sum + (sh.weights?.[c] ?? 1), 0) > 0)) continue;
    return true;
  }
  return false;
}

describe('sharing with V2G: the term counts net energy (p − q), discharge pays the cycling guard', () => {
  it('fairness cannot be bought by cycling a V2G EV: the LP value equals the plan\'s', async () => {
    for (const sharing of policies) {
      const inp = cycleBait(sharing);
      const a = await allocate(inp);
      assert.equal(a.status, 'optimal', a.reason);
      assert.deepEqual(verifyAllocation(inp, a).violations, []);
      assert.deepEqual(kwOf(a, 'a'), [11, 11, 11, 11]);
      assert.deepEqual(kwOf(a, 'b'), [0, 0, 0, 0], sharing.policy);
      const mono = await monolithicOptimum(inp, 10);
      // Gross counting lets the LP cycle B (p = q) to fill its share at only the wear cost: its optimum
      // then lies far below the value of the plan actually sent (the netted setpoints).
      assert.ok(mono && Math.abs(a.solver!.planObjective - mono.objective) <= 1e-6 * Math.max(1, Math.abs(mono.objective)), `${sharing.policy}: ${a.solver!.planObjective} vs ${mono?.objective}`);
    }
  });

  it('nor across intervals: a discharge where the CPO is above its share does not pay for a charge where it is below', async () => {
    // Interval 0: A's EV takes 11 kW, B has only its V2G EV (wanting nothing net): B is below its share.
    // Interval 1: A is held to 5 kW by its CPO limit, B's plain EV takes 17 kW: B is above its share.
    // Net counting alone would let the LP charge B's V2G EV in 0 and discharge it in 1: B's shortfall in 0
    // and, with the total X lower in 1, A's entitlement there fall by 11 kW each, for the wear cost only.
    const v2g = { maxDischargeKw: 11, minSocKwh: 10, socKwh: 30, capacityKwh: 60 };
    for (const sharing of [{ policy: 'proportional' }, { policy: 'maxmin' }] as SharingPolicy[]) {
      const inp: AllocationInput = {
        ...input(2, [
          area('g', 22),
          node('A', 'cpo', 'g'), evse('a', 'A', 11),
          node('B', 'cpo', 'g'), evse('b', 'B', 22), evse('v', 'B', 11),
        ], [demand('SA', 'a', 0, 2, 100), demand('SB', 'b', 1, 2, 100), demand('SV', 'v', 0, 2, 0, { v2g })], [
          { nodeId: 'A', importKw: [null, 5], exportKw: [null, null] },
        ]),
        sharing,
      };
      const a = await allocate(inp);
      assert.equal(a.status, 'optimal', a.reason);
      assert.deepEqual(verifyAllocation(inp, a).violations, []);
      assert.deepEqual(kwOf(a, 'v'), [0, 0], sharing.policy);
      const mono = await monolithicOptimum(inp, 10);
      assert.ok(mono && Math.abs(a.solver!.planObjective - mono.objective) <= 1e-6 * Math.max(1, Math.abs(mono.objective)));
    }
  });

  it('a discharge earns no class credit: a lower class is not drained to be recharged when its rank changes', async () => {
    // Interval 0: A (class 2) and C (class 0) take part, C's rank is 1; intervals 1–3: B (class 1) too,
    // C's rank is 2. Net counting without the positive part would pay C 300/kWh for discharging in 1–3
    // against 150/kWh for recharging in 0.
    const v2g = { maxDischargeKw: 11, minSocKwh: 10, socKwh: 30, capacityKwh: 60 };
    const inp: AllocationInput = {
      ...input(4, [
        area('g', 22),
        node('A', 'cpo', 'g'), evse('a', 'A', 11),
        node('B', 'cpo', 'g'), evse('b', 'B', 11),
        node('C', 'cpo', 'g'), evse('c', 'C', 11),
      ], [demand('SA', 'a', 0, 4, 100), demand('SB', 'b', 1, 4, 100), demand('SC', 'c', 0, 4, 0, { v2g })]),
      sharing: { policy: 'priority', classes: { A: 2, B: 1, C: 0 } },
    };
    const a = await allocate(inp);
    assert.equal(a.status, 'optimal', a.reason);
    assert.deepEqual(kwOf(a, 'c'), [0, 0, 0, 0]);
    const mono = await monolithicOptimum(inp, 10);
    assert.ok(mono && Math.abs(a.solver!.planObjective - mono.objective) <= 1e-6 * Math.max(1, Math.abs(mono.objective)), `${a.solver!.planObjective} vs ${mono?.objective}`);
  });

  it('random sharing areas with V2G sessions and required exports: verify, equal the monolithic LP within 0.1 %', async () => {
    const v2g = fc.record({ maxDischargeKw: fc.constantFrom(3.7, 11), minSocKwh: fc.integer({ min: 0, max: 10 }), socAbove: fc.integer({ min: 0, max: 20 }), room: fc.integer({ min: 0, max: 20 }) });
    const extra = fc.record({
      policy: fc.constantFrom<PolicyName>('proportional', 'maxmin', 'priority', 'fcfs'),
      v2g: fc.array(fc.option(v2g, { nil: undefined }), { minLength: 40, maxLength: 40 }),
      required: fc.option(fc.record({ at: fc.nat(9), kw: fc.integer({ min: 1, max: 15 }) }), { nil: undefined }),
      prices: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(sharedInstance, extra, async (spec, x) => {
        const base = toSharedInput(spec, x.policy);
        const demands = base.demands.map((d, i) => {
          const s = x.v2g[i % 40];
          return s ? { ...d, v2g: { maxDischargeKw: s.maxDischargeKw, minSocKwh: s.minSocKwh, socKwh: s.minSocKwh + s.socAbove, capacityKwh: s.minSocKwh + s.socAbove + s.room } } : d;
        });
        const T = base.horizon.count;
        const envelopes = [...base.envelopes];
        if (x.required && x.required.at < T) {
          const importKw: (number | null)[] = Array.from({ length: T }, (_, t) => (t === x.required!.at ? -x.required!.kw : null));
          envelopes.push({ nodeId: 'g0', importKw, exportKw: importKw.map(() => null) });
        }
        // Two tariffs make arbitrage worth a cycle, the case where gross counting would also pay for fairness.
        const pricePerKwh = x.prices ? Array.from({ length: T }, (_, t) => (t % 4 < 2 ? 0.4 : 0.05)) : undefined;
        const inp: AllocationInput = { ...base, demands, envelopes, ...(pricePerKwh ? { pricePerKwh } : {}) };
        const alloc = await allocate(inp);
        assert.ok(alloc.status === 'optimal' || alloc.status === 'empty', `status ${alloc.status}: ${alloc.reason}`);
        assert.deepEqual(verifyAllocation(inp, alloc).violations, []);
        const mono = await monolithicOptimum(inp, 10);
        assert.ok(mono, 'monolithic LP solved');
        const tol = 1e-3 * Math.max(1, Math.abs(mono.objective));
        assert.ok(Math.abs(alloc.solver!.planObjective - mono.objective) <= tol, `${x.policy}: ${alloc.solver!.planObjective} vs ${mono.objective}`);
        // Where the sharing term applies (≥ 2 CPOs with sessions) nothing is discharged but for a required
        // export: neither cycling for fairness nor price arbitrage (sharing.ts `cyclingGuard`).
        for (const [ai, a] of spec.areas.entries()) {
          const g = `g${ai}`;
          if (x.required && x.required.at < T && ai === 0) continue;
          if (!sharedSomewhere(inp, a, g)) continue;
          for (const e of alloc.evses) if (e.evseId.startsWith(`${g}.`)) assert.ok(e.kw.every((k) => k >= 0), `${x.policy}: ${e.evseId} discharges ${e.kw.join(', ')}`);
        }
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});
