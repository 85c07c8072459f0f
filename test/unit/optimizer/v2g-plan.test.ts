import assert from 'node:assert/strict';
import { allocate, monolithicOptimum, verifyAllocation, type Allocation, type AllocationInput, type V2gState } from '../../../optimizer/index.ts';
import { area, demand, evse, input, node } from './builders.ts';

/** Hand-computed optima of V2G discharge (docs/optimizer.md, "V2G and export"); 15-min intervals, a = 0.25 h. */

const evseOf = (a: Allocation, id: string) => a.evses.find((e) => e.evseId === id)!;

/** SoC after each interval, from socKwh, for a session present in every interval of the horizon. */
function socPath(v: V2gState, kw: number[]): number[] {
  let soc = v.socKwh;
  return kw.map((x) => (soc += x * 0.25));
}

async function solve(inp: AllocationInput): Promise<Allocation> {
  const alloc = await allocate(inp);
  assert.deepEqual(verifyAllocation(inp, alloc).violations, []);
  const mono = await monolithicOptimum(inp, 10);
  assert.ok(mono, 'the monolithic LP solves');
  assert.ok(Math.abs(alloc.solver!.planObjective - mono.objective) <= 1e-6 * Math.max(1, Math.abs(mono.objective)), `plan ${alloc.solver!.planObjective} vs monolithic ${mono.objective}`);
  return alloc;
}

describe('V2G discharge planning (hand-computed optima)', () => {
  it('(a) flat prices: a V2G EV with a need only charges (cycling would cost wear for nothing)', async () => {
    const v2g = { maxDischargeKw: 11, minSocKwh: 10, socKwh: 30, capacityKwh: 60 };
    for (const pricePerKwh of [undefined, [0.2, 0.2, 0.2, 0.2]]) {
      const inp = { ...input(4, [area('g'), evse('a', 'g', 11)], [demand('A', 'a', 0, 4, 5, { v2g })]), ...(pricePerKwh ? { pricePerKwh } : {}) };
      const alloc = await solve(inp);
      assert.deepEqual(evseOf(alloc, 'a').kw, [11, 9, 0, 0]);
      assert.deepEqual(evseOf(alloc, 'a').exportCapKw, [0, 0, 0, 0]);
      assert.deepEqual(alloc.unmet, []);
      assert.deepEqual(alloc.violations, []);
    }
  });

  it('(b) two prices: discharges in the dear intervals down to the min SoC, recharges in the cheap ones', async () => {
    // SoC 22, min 19: 3 kWh to give. Dear 0.4 in t0, t1; cheap 0.1 in t2, t3. Net need 2 kWh.
    // Discharge value per kWh: 10 (price scaled) − 2 (wear) − tie-breaker; the later dear interval is
    // worth a little more (tie-breaker 0.75 vs 1): 2.75 kWh (11 kW) in t1, the last 0.25 kWh (1 kW) in t0.
    // Recharge 2 + 3 = 5 kWh, earlier first: 11 kW (2.75 kWh) in t2, 9 kW (2.25 kWh) in t3.
    const v2g = { maxDischargeKw: 11, minSocKwh: 19, socKwh: 22, capacityKwh: 40 };
    const inp = { ...input(4, [area('g'), evse('a', 'g', 11)], [demand('A', 'a', 0, 4, 2, { v2g })]), pricePerKwh: [0.4, 0.4, 0.1, 0.1] };
    const alloc = await solve(inp);
    const a = evseOf(alloc, 'a');
    assert.deepEqual(a.kw, [-1, -11, 11, 9]);
    assert.deepEqual(a.exportCapKw, [1, 11, 0, 0]);
    assert.deepEqual(a.capKw, [0, 0, 11, 9]);
    assert.deepEqual(socPath(v2g, a.kw), [21.75, 19, 21.75, 24]);
    assert.deepEqual(alloc.unmet, []);
    assert.equal(alloc.status, 'optimal');
    assert.deepEqual(alloc.nodeExportTotalsKw!.g, [1, 11, 0, 0]);
  });

  it('(c) an export limit caps the discharge, and is reported as binding', async () => {
    const v2g = { maxDischargeKw: 11, minSocKwh: 19, socKwh: 22, capacityKwh: 40 };
    const inp = { ...input(4, [{ ...area('g'), exportLimitKw: 5 }, evse('a', 'g', 11)], [demand('A', 'a', 0, 4, 2, { v2g })]), pricePerKwh: [0.4, 0.4, 0.1, 0.1] };
    const alloc = await solve(inp);
    // 5 kW in both dear intervals (2.5 kWh, under the 3 kWh the SoC allows), recharge 4.5 kWh.
    assert.deepEqual(evseOf(alloc, 'a').kw, [-5, -5, 11, 7]);
    assert.deepEqual(alloc.binding.filter((b) => b.kind === 'export'), [{ nodeId: 'g', interval: 0, kind: 'export' }, { nodeId: 'g', interval: 1, kind: 'export' }]);
    // An envelope export limit works the same way, and the tighter of the two applies: 1.25 + 0.5 kWh
    // out, so 3.75 kWh back in (2.75 in t2, 1 in t3).
    inp.envelopes.push({ nodeId: 'g', importKw: [null, null, null, null], exportKw: [null, 2, null, null] });
    const tighter = await solve(inp);
    assert.deepEqual(evseOf(tighter, 'a').kw, [-5, -2, 11, 4]);
  });

  it('(d) a negative import limit that V2G can meet: exports it, recharges after, no violation', async () => {
    // The site must export 6 kW in t0. The EV wants no energy but must leave with what it came with.
    const v2g = { maxDischargeKw: 11, minSocKwh: 10, socKwh: 30, capacityKwh: 60 };
    const inp = input(2, [area('g'), node('s', 'site', 'g'), evse('a', 's', 11), evse('b', 's', 11)], [demand('A', 'a', 0, 2, 0, { v2g }), demand('B', 'b', 0, 2, 1)], [
      { nodeId: 's', importKw: [-6, null], exportKw: [null, null] },
    ]);
    const alloc = await solve(inp);
    assert.deepEqual(evseOf(alloc, 'a').kw, [-6, 6]);
    // B cannot charge in t0 (no import while the site must export): 4 kW in t1.
    assert.deepEqual(evseOf(alloc, 'b').kw, [0, 4]);
    assert.deepEqual(alloc.violations, []);
    assert.deepEqual(alloc.unmet, []);
    assert.deepEqual(alloc.nodeLimitsKw.s, [0, Number.POSITIVE_INFINITY]);
    assert.match(alloc.reason ?? '', /negative import limit/);
  });

  it('(e) a negative import limit V2G cannot meet: the shortfall is a violation, the plan still verifies', async () => {
    // 20 kW asked; the only V2G EV gives at most 7 kW, and the site's export limit is 5 kW.
    const v2g = { maxDischargeKw: 7, minSocKwh: 10, socKwh: 30, capacityKwh: 60 };
    const nodes = [area('g'), { ...node('s', 'site', 'g'), exportLimitKw: 5 }, evse('a', 's', 11), evse('c', 's', 11)];
    const inp = input(2, nodes, [demand('A', 'a', 0, 2, 0, { v2g }), demand('C', 'c', 0, 2, 2)], [{ nodeId: 's', importKw: [-20, null], exportKw: [null, null] }]);
    for (const method of ['lp', 'priority'] as const) {
      const alloc = await allocate({ ...inp, method });
      assert.deepEqual(verifyAllocation(inp, alloc).violations, [], method);
      assert.equal(evseOf(alloc, 'a').kw[0], -5, method);
      assert.deepEqual(alloc.violations, [{ nodeId: 's', interval: 0, kind: 'import', excessKw: 15 }], method);
    }
    // Nothing at all to export with: the whole request is the violation, and allocate does not throw.
    const none = input(1, [area('g')], [], [{ nodeId: 'g', importKw: [-3], exportKw: [null] }]);
    const alloc = await allocate(none);
    assert.deepEqual(verifyAllocation(none, alloc).violations, []);
    assert.deepEqual(alloc.violations, [{ nodeId: 'g', interval: 0, kind: 'import', excessKw: 3 }]);
  });

  it('(f) the SoC stays within [min SoC, capacity] at every step, both bounds reached', async () => {
    // SoC 38 of 40, min 30, need 2 kWh; cheap, dear, cheap. Charge to the capacity in t0 (2 kWh = 8 kW),
    // discharge 2.75 kWh (11 kW) in the dear t1, recharge 2.75 kWh in t2: back at the capacity, net 2 kWh.
    const v2g = { maxDischargeKw: 11, minSocKwh: 30, socKwh: 38, capacityKwh: 40 };
    const inp = { ...input(3, [area('g'), evse('a', 'g', 11)], [demand('A', 'a', 0, 3, 2, { v2g })]), pricePerKwh: [0.1, 0.4, 0.1] };
    const alloc = await solve(inp);
    const kw = evseOf(alloc, 'a').kw;
    assert.deepEqual(kw, [8, -11, 11]);
    assert.deepEqual(socPath(v2g, kw), [40, 37.25, 40]);
    // The floor: SoC 31, min 30 — at most 1 kWh out, whatever the price spread.
    const low = { ...v2g, socKwh: 31, capacityKwh: 60 };
    const alloc2 = await solve({ ...inp, demands: [demand('A', 'a', 0, 3, 0, { v2g: low })], pricePerKwh: [0.4, 0.4, 0.1] });
    const path = socPath(low, evseOf(alloc2, 'a').kw);
    assert.ok(path.every((s) => s >= 30 - 1e-9 && s <= 60), JSON.stringify(path));
    assert.ok(Math.abs(Math.min(...path) - 30) < 1e-9, JSON.stringify(path));
    assert.ok(Math.abs(path[2]! - 31) < 1e-9, 'leaves with what it came with');
  });

  it('does not discharge an EV that arrives under its min SoC, nor a session without V2G', async () => {
    const inp = { ...input(2, [area('g'), evse('a', 'g', 11), evse('b', 'g', 11)], [
      demand('A', 'a', 0, 2, 1, { v2g: { maxDischargeKw: 11, minSocKwh: 20, socKwh: 15, capacityKwh: 60 } }),
      demand('B', 'b', 0, 2, 1),
    ]), pricePerKwh: [0.4, 0.1] };
    const alloc = await solve(inp);
    for (const e of alloc.evses) assert.ok(e.kw.every((x) => x >= 0), JSON.stringify(e.kw));
    assert.match(alloc.reason ?? '', /session A: SoC 15 kWh outside \[min 20, capacity 60\], no discharge planned/);
  });

  it('priority solver: serves required export from the V2G EV with the most SoC room, no arbitrage, no proven gap', async () => {
    const big = { maxDischargeKw: 11, minSocKwh: 10, socKwh: 40, capacityKwh: 60 };
    const small = { ...big, socKwh: 12 };
    const inp = {
      ...input(2, [area('g'), evse('a', 'g', 11), evse('b', 'g', 11)], [demand('A', 'a', 0, 2, 0, { v2g: small }), demand('B', 'b', 0, 2, 0, { v2g: big })], [
        { nodeId: 'g', importKw: [-8, null], exportKw: [null, null] },
      ]),
      pricePerKwh: [0.4, 0.1],
      method: 'priority' as const,
    };
    const alloc = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, alloc).violations, []);
    assert.deepEqual(evseOf(alloc, 'b').kw[0], -8);
    assert.deepEqual(evseOf(alloc, 'a').kw, [0, 0]);
    assert.deepEqual(alloc.violations, []);
    assert.equal(alloc.solver!.lowerBound, undefined);
    assert.match(alloc.reason ?? '', /no proven bound \(V2G: required export served greedily/);
  });

  it('priority solver: charges first when the SoC is what stops the export, charges back what it exported', async () => {
    const at = (socKwh: number) => ({
      ...input(4, [area('g'), evse('a', 'g', 11)], [demand('A', 'a', 0, 4, 0, { v2g: { maxDischargeKw: 11, minSocKwh: 10, socKwh, capacityKwh: 60 } })], [
        { nodeId: 'g', importKw: [null, null, -8, null], exportKw: [null, null, null, null] },
      ]),
      method: 'priority' as const,
    });
    // At its min SoC: 2 kWh charged in t1 (latest first) to export them in t2; nothing to charge back.
    const empty = await allocate(at(10));
    assert.deepEqual(verifyAllocation(at(10), empty).violations, []);
    assert.deepEqual(evseOf(empty, 'a').kw, [0, 8, -8, 0]);
    // With SoC to spare: exports in t2 and, its need raised by the 2 kWh given (export planned before
    // charging, fast/export-pass.ts), charges them in t0 (earlier is better, as the LP does), so it leaves
    // with what it came with.
    const full = await allocate(at(30));
    assert.deepEqual(verifyAllocation(at(30), full).violations, []);
    assert.deepEqual(evseOf(full, 'a').kw, [8, 0, -8, 0]);
    for (const alloc of [empty, full]) {
      assert.deepEqual(alloc.violations, []);
      assert.deepEqual(alloc.unmet, []);
    }
  });

  it('priority solver: a full limit gives way to the charging a required export needs', async () => {
    // Area limit 8 kW, all of it wanted by B (10 kWh, more than 4 intervals at 8 kW give). Site s1 must
    // export 8 kW in t2; A is at its min SoC, so it must charge 2 kWh first: B gives way in t1.
    const nodes = [area('g', 8), node('s1', 'site', 'g'), evse('a', 's1', 11), evse('b', 'g', 11)];
    const demands = [demand('A', 'a', 0, 4, 0, { v2g: { maxDischargeKw: 11, minSocKwh: 10, socKwh: 10, capacityKwh: 60 } }), demand('B', 'b', 0, 4, 10)];
    const envelopes = [{ nodeId: 's1', importKw: [null, null, -8, null], exportKw: [null, null, null, null] }];
    const inp = { ...input(4, nodes, demands, envelopes), method: 'priority' as const };
    const alloc = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, alloc).violations, []);
    assert.deepEqual(evseOf(alloc, 'a').kw, [0, 8, -8, 0]);
    assert.deepEqual(evseOf(alloc, 'b').kw, [8, 0, 8, 8]);
    assert.deepEqual(alloc.violations, []);
    assert.deepEqual(alloc.unmet, [{ sessionId: 'B', evseId: 'b', kwh: 4 }]);
    // The LP does the same up to when A charges (earlier is better): same objective terms but the tie-breaker.
    const lp = await solve({ ...inp, method: 'lp' });
    assert.deepEqual(lp.violations, []);
    assert.deepEqual(lp.unmet, [{ sessionId: 'B', evseId: 'b', kwh: 4 }]);
  });

  it('min power applies to discharge too, and rounding keeps the SoC floor', async () => {
    // SoC room 0.3 kWh = 1.2 kW over one interval, under the 1.4 kW min: no discharge possible.
    const v2g = { maxDischargeKw: 11, minSocKwh: 19.7, socKwh: 20, capacityKwh: 40 };
    const inp = { ...input(2, [area('g'), evse('a', 'g', 11, 1.4)], [demand('A', 'a', 0, 2, 0, { v2g })]), pricePerKwh: [0.4, 0.1] };
    const alloc = await allocate(inp);
    assert.deepEqual(verifyAllocation(inp, alloc).violations, []);
    const kw = evseOf(alloc, 'a').kw;
    assert.ok(kw.every((x) => x === 0 || Math.abs(x) >= 1.4), JSON.stringify(kw));
    assert.ok(socPath(v2g, kw).every((s) => s >= 19.7 - 1e-9));
  });
});
