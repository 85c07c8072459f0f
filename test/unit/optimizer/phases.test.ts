import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocate, fallbackAllocation, monolithicOptimum, verifyAllocation, type Allocation, type AllocationInput, type TopologyNode } from '../../../optimizer/index.ts';
import { area, demand, evse, input, node } from './builders.ts';
import { instance, toInput } from './random-instances.ts';
import { toV2gInput, v2gInstance } from './v2g-instances.ts';

/** 16 A per phase at 230 V: 3.68 kW on one phase, 11.04 kW balanced over three. */
const ONE_PHASE_KW = (16 * 230) / 1000;

function station(importLimitA: number, extra: Partial<TopologyNode> = {}): TopologyNode {
  return { ...node('s', 'station', 'g'), importLimitA, ...extra };
}
function ev(id: string, maxKw: number, conn: Partial<TopologyNode>): TopologyNode {
  return { ...evse(id, 's', maxKw), ...conn };
}
const L = (phase: 'L1' | 'L2' | 'L3'): Partial<TopologyNode> => ({ phaseCount: 1, phase });

/** Every EVSE wants far more than 4 intervals can give, so the limits decide. */
function fixture(evses: TopologyNode[], extra: Partial<AllocationInput> = {}): AllocationInput {
  return { ...input(4, [area('g'), station(16, { phaseCount: 3 }), ...evses], evses.map((e) => demand(`S${e.id}`, e.id, 0, 4, 100))), ...extra };
}
const kwOf = (a: Allocation, id: string): number[] => a.evses.find((e) => e.evseId === id)!.kw;
const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 0.002, `${what}: ${a} vs ${b}`);

describe('per-phase current limits (A)', () => {
  it('two single-phase EVSEs on L1 under a 16 A/phase node share 3.68 kW (one phase)', async () => {
    const inp = fixture([ev('a', 7.4, L('L1')), ev('b', 7.4, L('L1'))]);
    const a = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, a).violations, []);
    for (let t = 0; t < 4; t++) close(kwOf(a, 'a')[t]! + kwOf(a, 'b')[t]!, ONE_PHASE_KW, `interval ${t}`);
    // Both draw alike: the rows collapse into a kW limit, reported like any other.
    assert.deepEqual(a.nodeLimitsKw.s, [ONE_PHASE_KW, ONE_PHASE_KW, ONE_PHASE_KW, ONE_PHASE_KW]);
  });

  it('three single-phase EVSEs on L1, L2, L3 get 3.68 kW each (exact per-phase rows in the LP)', async () => {
    const inp = fixture([ev('a', 7.4, L('L1')), ev('b', 7.4, L('L2')), ev('c', 7.4, L('L3'))], { method: 'lp' });
    const a = await allocate(inp);
    assert.equal(a.status, 'optimal');
    assert.deepEqual(verifyAllocation(inp, a).violations, []);
    for (const id of ['a', 'b', 'c']) for (let t = 0; t < 4; t++) close(kwOf(a, id)[t]!, ONE_PHASE_KW, `${id} interval ${t}`);
    assert.ok(a.binding.some((b) => b.nodeId === 's'), 'the per-phase limit is reported as binding');
  });

  it('balanced 3-phase EVSEs share 3 · 230 V · 16 A = 11.04 kW', async () => {
    const inp = fixture([ev('a', 11, { phaseCount: 3 }), ev('b', 11, { phaseCount: 3 })]);
    const a = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, a).violations, []);
    for (let t = 0; t < 4; t++) close(kwOf(a, 'a')[t]! + kwOf(a, 'b')[t]!, 3 * ONE_PHASE_KW, `interval ${t}`);
  });

  it('an EVSE of unknown connection counts on every phase (conservative)', async () => {
    // Alone: 3.68 kW, not the 11.04 kW a 3-phase reading would allow.
    const alone = fixture([ev('u', 11, {})]);
    alone.nodes[1] = station(16);
    const a = await allocate(alone);
    assert.deepEqual(verifyAllocation(alone, a).violations, []);
    for (let t = 0; t < 4; t++) close(kwOf(a, 'u')[t]!, ONE_PHASE_KW, `interval ${t}`);
    // With one on L1: the unknown one may be on L1 too, so both share 3.68 kW; L2 and L3 could take more but
    // only the unknown one draws there.
    const mixed = fixture([ev('u', 11, { phase: 'L2' }), ev('b', 7.4, L('L1'))], { method: 'lp' });
    mixed.nodes[1] = station(16);
    const m = await allocate(mixed);
    assert.deepEqual(verifyAllocation(mixed, m).violations, []);
    for (let t = 0; t < 4; t++) close(kwOf(m, 'u')[t]! + kwOf(m, 'b')[t]!, ONE_PHASE_KW, `interval ${t}`);
  });

  it('the priority solver gets a conservative kW limit that implies every phase row, and says so', async () => {
    const inp = fixture([ev('a', 7.4, L('L1')), ev('b', 7.4, L('L2')), ev('c', 7.4, L('L3'))], { method: 'priority' });
    const a = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, a).violations, []);
    for (let t = 0; t < 4; t++) close(kwOf(a, 'a')[t]! + kwOf(a, 'b')[t]! + kwOf(a, 'c')[t]!, ONE_PHASE_KW, `interval ${t}`);
    assert.match(a.reason ?? '', /conservative kW limits for the per-phase limits of 1 mixed-phase node/);
  });

  it('a single-phase node puts all current on its one phase, whatever the EVSEs say', async () => {
    const inp = fixture([ev('a', 11, { phaseCount: 3 })]);
    inp.nodes[1] = station(16, { phaseCount: 1, phaseVoltageV: 240 });
    const a = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, a).violations, []);
    for (let t = 0; t < 4; t++) close(kwOf(a, 'a')[t]!, (16 * 240) / 1000, `interval ${t}`);
  });

  it('idle EVSEs under a mixed node get caps within every phase', async () => {
    const nodes = [ev('a', 7.4, L('L1')), ev('b', 7.4, L('L2')), ev('i1', 7.4, L('L1')), ev('i3', 11, { phaseCount: 3 })];
    const inp = fixture(nodes.slice(0, 2));
    inp.nodes.push(nodes[2]!, nodes[3]!);
    inp.demands[0]!.energyKwh = 0.5;
    const a = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, a).violations, []);
  });

  it('the safe fallback (no solve) gives idle caps within every phase', () => {
    const inp = fixture([ev('a', 7.4, L('L1')), ev('b', 7.4, L('L1')), ev('c', 11, { phaseCount: 3 })]);
    const a = fallbackAllocation(inp, 'worker overran');
    assert.deepEqual(verifyAllocation(inp, a).violations, []);
    assert.ok(a.evses.some((e) => e.capKw.some((x) => x > 0)), 'the caps are not all 0');
  });

  it('verifyAllocation finds a phase over its limit', async () => {
    const inp = fixture([ev('a', 7.4, L('L1')), ev('b', 7.4, L('L2')), ev('c', 7.4, L('L3'))], { method: 'lp' });
    const a = await allocate(inp);
    const bad = structuredClone(a);
    const sch = bad.evses.find((e) => e.evseId === 'a')!;
    sch.kw[2] = 5;
    sch.capKw[2] = 5;
    bad.nodeTotalsKw.s![2]! += 5 - a.evses.find((e) => e.evseId === 'a')!.capKw[2]!;
    bad.nodeTotalsKw.g![2]! += 5 - a.evses.find((e) => e.evseId === 'a')!.capKw[2]!;
    const v = verifyAllocation(inp, bad).violations;
    assert.ok(v.some((m) => /node s interval 2: L1 current 21\.7\d* A .* above the per-phase import limit 16 A/.test(m)), v.join('\n'));
    assert.ok(!v.some((m) => /L2|L3/.test(m)), v.join('\n'));
  });

  it('a per-phase export limit caps V2G discharge: 10 A on L1 at 230 V is 2.3 kW', async () => {
    const v2g = { maxDischargeKw: 11, minSocKwh: 19, socKwh: 22, capacityKwh: 40 };
    const inp: AllocationInput = {
      ...input(4, [area('g'), { ...node('s', 'station', 'g'), exportLimitA: 10 }, ev('a', 11, L('L1'))], [demand('A', 'a', 0, 4, 2, { v2g })]),
      pricePerKwh: [0.4, 0.4, 0.1, 0.1],
    };
    const a = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, a).violations, []);
    const kw = kwOf(a, 'a');
    assert.ok(kw.some((x) => x < 0), `discharges in the dear intervals: ${kw.join(', ')}`);
    for (const x of kw) assert.ok(-x <= 2.3 + 1e-9, `discharge ${-x} kW`);
    // The same allocation with a discharge above 10 A on L1 fails verification.
    const bad = structuredClone(a);
    const sch = bad.evses.find((e) => e.evseId === 'a')!;
    sch.kw[0] = -3;
    if (sch.exportCapKw) sch.exportCapKw[0] = 3;
    assert.ok(verifyAllocation(inp, bad).violations.some((m) => /node s interval 0: L1 export current 13\.0\d* A .* above the per-phase export limit 10 A/.test(m)));
  });

  it('a per-phase export limit on a mixed node: exact rows over the discharge columns (10 A on L1 and on L2: 2.3 kW each)', async () => {
    // Two single-phase V2G EVs on L1 and L2 under a 3-phase station with 10 A/phase of export, and a required
    // export of 4.6 kW there in interval 0. The conservative kW reading (2.3 kW for the whole station) could
    // give only half of it; the exact rows allow 2.3 kW on each phase.
    const v2g = { maxDischargeKw: 11, minSocKwh: 10, socKwh: 30, capacityKwh: 60 };
    const nodes = [area('g'), { ...node('s', 'station', 'g'), phaseCount: 3 as const, exportLimitA: 10 }, ev('a', 11, L('L1')), ev('b', 11, L('L2'))];
    const required = { nodeId: 's', importKw: [-4.6, null], exportKw: [null, null] };
    for (const method of ['lp', 'priority'] as const) {
      const inp: AllocationInput = { ...input(2, nodes, [demand('A', 'a', 0, 2, 0, { v2g }), demand('B', 'b', 0, 2, 0, { v2g })], [required]), method };
      const a = await allocate(inp);
      assert.deepEqual(verifyAllocation(inp, a).violations, [], method);
      if (method === 'lp') {
        assert.deepEqual(a.violations ?? [], []);
        close(kwOf(a, 'a')[0]!, -2.3, 'a discharges 2.3 kW on L1');
        close(kwOf(a, 'b')[0]!, -2.3, 'b discharges 2.3 kW on L2');
        assert.ok(a.binding.some((b) => b.nodeId === 's' && b.interval === 0 && b.kind === 'export'), 'the export phase rows bind');
        const mono = await monolithicOptimum(inp, 10);
        assert.ok(mono && Math.abs(a.solver!.planObjective - mono.objective) <= 1e-6 * Math.max(1, Math.abs(mono.objective)));
      } else {
        // The priority solver knows kW only: the conservative 2.3 kW for the station, and it says so.
        assert.match(a.reason ?? '', /conservative kW export limits/);
        assert.ok(-(kwOf(a, 'a')[0]! + kwOf(a, 'b')[0]!) <= 2.3 + 1e-9);
      }
    }
  });

  it('an invalid ampere limit is 0 A (the safe reading), and reported', async () => {
    const inp = fixture([ev('a', 7.4, L('L1'))]);
    inp.nodes[1] = station(Number.NaN, { phaseCount: 3 });
    const a = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, a).violations, []);
    assert.deepEqual(kwOf(a, 'a'), [0, 0, 0, 0]);
    assert.match(a.reason ?? '', /node s: invalid importLimitA NaN treated as 0 A/);
  });

  it('property: with random ampere limits and phases, every plan verifies and the LP equals the monolithic LP', async () => {
    const conn = fc.constantFrom<Partial<TopologyNode>>({}, { phaseCount: 3 }, { phaseCount: 1 }, { phaseCount: 1, phase: 'L1' }, { phaseCount: 1, phase: 'L2' }, { phaseCount: 1, phase: 'L3' });
    const amps = fc.option(fc.constantFrom(0, 6, 10, 16, 25, 32), { nil: undefined, freq: 2 });
    await fc.assert(
      fc.asyncProperty(instance, fc.array(fc.tuple(conn, amps), { minLength: 40, maxLength: 40 }), async (spec, extra) => {
        const base = toInput(spec);
        const nodes = base.nodes.map((n, i) => {
          const [c, a] = extra[i % extra.length]!;
          return { ...n, ...c, ...(a !== undefined && n.kind !== 'evse' ? (i % 3 === 0 ? { exportLimitA: a } : { importLimitA: a }) : {}) };
        });
        await bothSolversVerifyAndLpIsOptimal({ ...base, nodes }, 1e-6);
      }),
      { numRuns: 30 },
    );
  });

  it('property: V2G with random per-phase export and import limits and phases: verifies, the LP equals the monolithic LP', async () => {
    const conn = fc.constantFrom<Partial<TopologyNode>>({}, { phaseCount: 3 }, { phaseCount: 1, phase: 'L1' }, { phaseCount: 1, phase: 'L2' }, { phaseCount: 1, phase: 'L3' });
    const amps = fc.option(fc.constantFrom(0, 6, 10, 16, 32), { nil: undefined, freq: 2 });
    await fc.assert(
      fc.asyncProperty(v2gInstance, fc.array(fc.tuple(conn, amps, fc.boolean()), { minLength: 40, maxLength: 40 }), async (spec, extra) => {
        const base = toV2gInput(spec);
        const nodes = base.nodes.map((n, i) => {
          const [c, a, exp] = extra[i % extra.length]!;
          return { ...n, ...c, ...(a !== undefined && n.kind !== 'evse' ? (exp ? { exportLimitA: a } : { importLimitA: a }) : {}) };
        });
        await bothSolversVerifyAndLpIsOptimal({ ...base, nodes }, 1e-3);
      }),
      { numRuns: 30 },
    );
  });
});

/** Both solvers' results pass verifyAllocation; the simplex's plan equals the monolithic LP's optimum within `relTol`. */
async function bothSolversVerifyAndLpIsOptimal(base: AllocationInput, relTol: number): Promise<void> {
  for (const method of ['lp', 'priority'] as const) {
    const inp = { ...base, method };
    const alloc = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, alloc).violations, [], method);
    if (method !== 'lp' || alloc.status !== 'optimal' || !alloc.solver) continue;
    const mono = await monolithicOptimum(inp, 10);
    assert.ok(mono, 'monolithic solved');
    assert.ok(Math.abs(alloc.solver.planObjective - mono.objective) <= relTol * Math.max(1, Math.abs(mono.objective)), `${alloc.solver.planObjective} vs ${mono.objective}`);
  }
}
