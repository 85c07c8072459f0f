import assert from 'node:assert/strict';
import { allocate, Reoptimizer, splitByArea, verifyAllocation, type Allocation, type AllocationInput, type TopologyNode } from '../../../optimizer/index.ts';
import { area, demand, envelope, evse, horizon, input, node, STEP_MS } from './builders.ts';

/** Three grid areas of two sites each, sessions everywhere, a binding envelope in area b. */
function threeAreas(): AllocationInput {
  const nodes: TopologyNode[] = [];
  const demands = [];
  for (const g of ['a', 'b', 'c']) {
    nodes.push(area(g, 30));
    for (const s of [1, 2]) {
      nodes.push(node(`${g}${s}`, 'site', g, 22));
      for (const e of [1, 2]) {
        nodes.push(evse(`${g}${s}.${e}`, `${g}${s}`, 11, 1.4));
        demands.push(demand(`${g}${s}.${e}:s`, `${g}${s}.${e}`, s - 1, 6 + e, 10 + 5 * e));
      }
    }
  }
  return { ...input(8, nodes, demands, [envelope('b', [10, 10, 10, null, null, null, null, null])]), pricePerKwh: [3, 2, 1, 1, 2, 3, 4, 4] };
}

/** Counts the solves the Reoptimizer asks for (the real allocate() does them). */
function counted(): { solve: (i: AllocationInput) => Promise<Allocation>; areas: string[] } {
  const areas: string[] = [];
  return {
    areas,
    solve: (i) => {
      areas.push(i.nodes.find((n) => n.parentId === null)!.id);
      return allocate(i);
    },
  };
}

const areaOf = (id: string): string => id[0]!;
function strip(a: Allocation, g: string): unknown {
  return {
    evses: a.evses.filter((e) => areaOf(e.evseId) === g),
    unmet: a.unmet.filter((u) => areaOf(u.evseId) === g),
    binding: a.binding.filter((b) => areaOf(b.nodeId) === g),
    totals: Object.entries(a.nodeTotalsKw).filter(([id]) => areaOf(id) === g),
    limits: Object.entries(a.nodeLimitsKw).filter(([id]) => areaOf(id) === g),
  };
}

describe('re-optimization on change (Reoptimizer)', () => {
  it('gives exactly the result of a full allocate(), and reuses every area when nothing changed', async () => {
    const inp = threeAreas();
    const c = counted();
    const r = new Reoptimizer(c.solve);
    const first = await r.allocate(inp);
    const full = await allocate(inp);
    assert.deepEqual(c.areas, ['a', 'b', 'c']);
    assert.deepEqual(verifyAllocation(inp, first).violations, []);
    for (const g of ['a', 'b', 'c']) assert.deepEqual(strip(first, g), strip(full, g), `area ${g}`);
    assert.deepEqual(first.evses.map((e) => e.evseId), full.evses.map((e) => e.evseId));
    assert.ok(Math.abs(first.objective - full.objective) <= 1e-9 * Math.abs(full.objective));
    assert.equal(first.status, full.status);

    const again = await r.allocate(structuredClone(inp));
    assert.deepEqual(c.areas, ['a', 'b', 'c'], 'nothing solved again');
    assert.deepEqual(r.last, { whole: false, solved: [], reused: ['a', 'b', 'c'] });
    assert.deepEqual(again.evses, first.evses);
  });

  it('a change in one area re-solves only that area; the others are reused and still equal a full solve', async () => {
    const inp = threeAreas();
    const c = counted();
    const r = new Reoptimizer(c.solve);
    await r.allocate(inp);
    const changed = structuredClone(inp);
    changed.demands.find((d) => d.sessionId === 'b2.1:s')!.energyKwh = 3;
    const next = await r.allocate(changed);
    assert.deepEqual(c.areas, ['a', 'b', 'c', 'b']);
    assert.deepEqual(r.last, { whole: false, solved: ['b'], reused: ['a', 'c'] });
    const full = await allocate(changed);
    assert.deepEqual(verifyAllocation(changed, next).violations, []);
    for (const g of ['a', 'b', 'c']) assert.deepEqual(strip(next, g), strip(full, g), `area ${g}`);

    // An envelope on a site of c, and a node added to a: those two areas only.
    changed.envelopes.push(envelope('c1', [5, 5, 5, 5, 5, 5, 5, 5]));
    changed.nodes.push(evse('a1.3', 'a1', 22));
    await r.allocate(changed);
    assert.deepEqual(r.last.solved, ['a', 'c']);
  });

  it('with V2G in one area, a reused result carries the export totals and limits of a full solve', async () => {
    const inp = threeAreas();
    // Area a: a V2G EV discharging for a required export in interval 0, export limit on a1.
    inp.nodes.find((n) => n.id === 'a1')!.exportLimitKw = 7;
    inp.demands.find((d) => d.sessionId === 'a1.1:s')!.v2g = { maxDischargeKw: 11, minSocKwh: 5, socKwh: 30, capacityKwh: 60 };
    inp.envelopes.push({ nodeId: 'a', importKw: [-5, null, null, null, null, null, null, null], exportKw: new Array<null>(8).fill(null) });
    // Area c: an invalid export limit (reported by a full solve, since the instance has a V2G session).
    inp.nodes.find((n) => n.id === 'c2')!.exportLimitKw = -1;
    const r = new Reoptimizer();
    await r.allocate(inp);
    const changed = structuredClone(inp);
    changed.demands.find((d) => d.sessionId === 'b2.1:s')!.energyKwh = 3;
    const next = await r.allocate(changed);
    assert.deepEqual(r.last, { whole: false, solved: ['b'], reused: ['a', 'c'] });
    const full = await allocate(changed);
    assert.ok(full.evses.some((e) => e.kw.some((x) => x < 0)), 'the instance discharges');
    assert.ok(full.nodeExportTotalsKw && full.nodeExportLimitsKw);
    assert.deepEqual(next.nodeExportTotalsKw, full.nodeExportTotalsKw);
    assert.deepEqual(next.nodeExportLimitsKw, full.nodeExportLimitsKw);
    for (const g of ['a', 'b', 'c']) assert.deepEqual(strip(next, g), strip(full, g), `area ${g}`);
    assert.deepEqual(new Set(next.reason?.split('; ')), new Set(full.reason?.split('; ')));
    assert.deepEqual(verifyAllocation(changed, next).violations, []);
  });

  it('the horizon moving forward invalidates everything', async () => {
    const inp = threeAreas();
    const c = counted();
    const r = new Reoptimizer(c.solve);
    await r.allocate(inp);
    const later = { ...structuredClone(inp), horizon: { ...horizon(8), startMs: horizon(8).startMs + STEP_MS } };
    const a = await r.allocate(later);
    assert.deepEqual(r.last.solved, ['a', 'b', 'c']);
    assert.deepEqual(verifyAllocation(later, a).violations, []);
  });

  it('prices, policy and mode apply to every area: a change there re-solves all', async () => {
    const r = new Reoptimizer();
    const inp = threeAreas();
    await r.allocate(inp);
    await r.allocate({ ...inp, pricePerKwh: [1, 1, 1, 1, 1, 1, 1, 9] });
    assert.deepEqual(r.last.solved, ['a', 'b', 'c']);
    await r.allocate({ ...inp, pricePerKwh: [1, 1, 1, 1, 1, 1, 1, 9], minPowerMode: 'milp' });
    assert.deepEqual(r.last.solved, ['a', 'b', 'c']);
  });

  it('an input that does not split into areas is solved whole, as allocate() would', async () => {
    const inp = threeAreas();
    inp.demands.push(demand('x', 'nowhere', 0, 4, 5));
    const r = new Reoptimizer();
    const a = await r.allocate(inp);
    assert.equal(r.last.whole, true);
    assert.match(a.reason ?? '', /session x: EVSE nowhere is not in the topology/);
    assert.equal(splitByArea(inp), null);
    const dup = threeAreas();
    dup.nodes.push(area('a'));
    assert.equal(splitByArea(dup), null);
  });

  it('does not reuse a fallback result', async () => {
    let calls = 0;
    const r = new Reoptimizer(async (i) => {
      calls++;
      const a = await allocate(i);
      return calls === 1 ? { ...a, status: 'fallback' } : a;
    });
    const inp = input(4, [area('g', 10), evse('e', 'g', 11)], [demand('s', 'e', 0, 4, 5)]);
    await r.allocate(inp);
    await r.allocate(inp);
    assert.equal(calls, 2);
  });
});
