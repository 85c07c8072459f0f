import assert from 'node:assert/strict';
import { allocate, verifyAllocation, type Allocation, type AllocationInput, type EvseSchedule } from '../../../optimizer/index.ts';
import { area, at, demand, envelope, evse, input, node, sum } from './builders.ts';

const DT_H = 0.25;

function schedule(a: Allocation, evseId: string): EvseSchedule {
  const s = a.evses.find((x) => x.evseId === evseId);
  assert.ok(s, `no schedule for ${evseId}`);
  return s;
}

async function solveVerified(inp: AllocationInput): Promise<Allocation> {
  const a = await allocate(inp);
  const check = verifyAllocation(inp, a);
  assert.deepEqual(check.violations, []);
  return a;
}

describe('allocate', () => {
  it('shares an 11 kW site between two sessions and reports what cannot be delivered', async () => {
    const inp = input(4, [area('g'), node('s', 'site', 'g', 11), evse('a', 's', 11), evse('b', 's', 11)], [
      demand('A', 'a', 0, 4, 2),
      demand('B', 'b', 0, 4, 20),
    ]);
    const a = await solveVerified(inp);
    assert.equal(a.status, 'optimal');
    const ka = schedule(a, 'a').kw;
    const kb = schedule(a, 'b').kw;
    assert.ok(Math.abs(sum(ka) * DT_H - 2) < 1e-9, 'A gets its 2 kWh');
    // The site can deliver 11 kW · 1 h; A takes 2 kWh of it, B the remaining 9.
    assert.ok(Math.abs(sum(kb) * DT_H - 9) < 1e-9);
    for (let t = 0; t < 4; t++) assert.equal(ka[t]! + kb[t]!, 11);
    assert.deepEqual(a.unmet, [{ sessionId: 'B', evseId: 'b', kwh: 11 }]);
    assert.deepEqual(a.binding.map((b) => `${b.nodeId}@${b.interval}`), ['s@0', 's@1', 's@2', 's@3']);
    assert.equal(a.nodeLimitsKw.g![0], Number.POSITIVE_INFINITY);
    assert.deepEqual(a.nodeTotalsKw.s, [11, 11, 11, 11]);
  });

  it('gives scarce power to the session that leaves first', async () => {
    const inp = input(4, [area('g'), node('s', 'site', 'g', 11), evse('a', 's', 11), evse('b', 's', 11)], [
      demand('leaves-at-end', 'a', 0, 4, 10),
      demand('stays-longer', 'b', 0, 8, 10),
    ]);
    const a = await solveVerified(inp);
    assert.ok(Math.abs(sum(schedule(a, 'a').kw) * DT_H - 10) < 1e-9);
    assert.deepEqual(a.unmet.map((u) => u.sessionId), ['stays-longer']);
    assert.ok(Math.abs(a.unmet[0]!.kwh - 9) < 1e-9);
  });

  it('charges only while the EV is plugged in, with partly covered intervals counted by their share', async () => {
    // Arrives 7.5 min into interval 1, leaves at the start of interval 5.
    const inp = input(8, [area('g'), evse('a', 'g', 10)], [
      { sessionId: 'A', evseId: 'a', arrivalMs: at(1, 7.5), departureMs: at(5), energyKwh: 100 },
    ]);
    const a = await solveVerified(inp);
    assert.deepEqual(schedule(a, 'a').kw, [0, 10, 10, 10, 10, 0, 0, 0]);
    assert.equal(a.unmet.length, 1);
    assert.ok(Math.abs(a.unmet[0]!.kwh - (100 - 10 * DT_H * 3.5)) < 1e-9);
    // Idle before and after the stay, with no limit above: the cap is the EVSE max.
    assert.deepEqual(schedule(a, 'a').capKw, [10, 10, 10, 10, 10, 10, 10, 10]);
  });

  it('takes the lowest of the static limit and every envelope for the node', async () => {
    const inp = input(
      4,
      [area('g', 100), node('s', 'site', 'g', 50), evse('a', 's', 22), evse('b', 's', 22)],
      [demand('A', 'a', 0, 4, 100), demand('B', 'b', 0, 4, 100)],
      [envelope('s', [20, null, 60, 5]), envelope('s', [30, 12, null, null]), envelope('g', [null, null, 35, null])],
    );
    const a = await solveVerified(inp);
    assert.deepEqual(a.nodeLimitsKw.s, [20, 12, 50, 5]);
    assert.deepEqual(a.nodeLimitsKw.g, [100, 100, 35, 100]);
    const total = [0, 1, 2, 3].map((t) => schedule(a, 'a').kw[t]! + schedule(a, 'b').kw[t]!);
    assert.deepEqual(total, [20, 12, 35, 5]);
    assert.ok(a.binding.some((b) => b.nodeId === 'g' && b.interval === 2));
    assert.ok(a.binding.some((b) => b.nodeId === 's' && b.interval === 3));
  });

  it('splits the headroom among idle EVSEs, each up to its max, the rest to the others', async () => {
    const inp = input(2, [area('g'), node('s', 'site', 'g', 30), evse('a', 's', 11), evse('b', 's', 7), evse('c', 's', 22)], [
      demand('A', 'a', 0, 2, 100),
    ]);
    const a = await solveVerified(inp);
    assert.deepEqual(schedule(a, 'a').capKw, [11, 11]);
    // 19 kW left: an equal split would be 9.5 each, but b can take only 7, so c gets 12.
    assert.deepEqual(schedule(a, 'b').capKw, [7, 7]);
    assert.deepEqual(schedule(a, 'c').capKw, [12, 12]);
    assert.deepEqual(schedule(a, 'b').kw, [0, 0]);
    assert.deepEqual(a.nodeTotalsKw.s, [30, 30]);
  });

  it('shares headroom fairly per EVSE through the tree, within every nested limit', async () => {
    const nodes = [
      area('g', 40),
      node('s1', 'site', 'g', 10), evse('a', 's1', 22), evse('b', 's1', 22),
      node('s2', 'site', 'g'), evse('c', 's2', 22), evse('d', 's2', 22),
    ];
    const a = await solveVerified(input(1, nodes));
    assert.equal(a.status, 'optimal');
    // s1 can only use 10 (5 each); the other 30 of the area go to c and d.
    assert.deepEqual(['a', 'b', 'c', 'd'].map((id) => schedule(a, id).capKw[0]), [5, 5, 15, 15]);
  });

  it('turns off setpoints under the min power and says so', async () => {
    // 1 kWh needs 4 kW for one interval, under the 6 kW min: the charger cannot run that low.
    const inp = input(4, [area('g'), evse('a', 'g', 11, 6)], [demand('A', 'a', 0, 4, 1)]);
    const a = await solveVerified(inp);
    assert.deepEqual(schedule(a, 'a').kw, [0, 0, 0, 0]);
    assert.match(a.reason ?? '', /1 setpoint\(s\) under the min power rounded down to 0/);
    assert.deepEqual(a.unmet, [{ sessionId: 'A', evseId: 'a', kwh: 1 }]);
  });

  it('floors setpoints to 0.001 kW so shares never add up above a limit', async () => {
    const inp = input(1, [area('g'), node('s', 'site', 'g', 10), evse('a', 's', 22), evse('b', 's', 22), evse('c', 's', 22)]);
    const a = await solveVerified(inp);
    assert.deepEqual(['a', 'b', 'c'].map((id) => schedule(a, id).capKw[0]), [3.333, 3.333, 3.333]);
  });

  it('solves independent grid areas separately', async () => {
    const inp = input(2, [area('g1', 5), evse('a', 'g1', 11), area('g2', 8), evse('b', 'g2', 11)], [
      demand('A', 'a', 0, 2, 100),
      demand('B', 'b', 0, 2, 100),
    ]);
    const a = await solveVerified(inp);
    assert.deepEqual(schedule(a, 'a').kw, [5, 5]);
    assert.deepEqual(schedule(a, 'b').kw, [8, 8]);
  });

  it('returns status empty when there is nothing to schedule', async () => {
    const a = await solveVerified(input(4, [area('g', 10)]));
    assert.equal(a.status, 'empty');
    assert.deepEqual(a.evses, []);
  });

  it('falls back to 0 kW and headroom caps when the time budget is gone', async () => {
    const inp = { ...input(2, [area('g'), node('s', 'site', 'g', 10), evse('a', 's', 11), evse('b', 's', 11)], [demand('A', 'a', 0, 2, 5)]), timeLimitSec: 1e-9 };
    const a = await solveVerified(inp);
    assert.equal(a.status, 'fallback');
    assert.match(a.reason ?? '', /safe fallback/);
    assert.deepEqual(schedule(a, 'a').kw, [0, 0]);
    assert.deepEqual(schedule(a, 'a').capKw, [5, 5]);
    assert.deepEqual(schedule(a, 'b').capKw, [5, 5]);
    assert.deepEqual(a.unmet, [{ sessionId: 'A', evseId: 'a', kwh: 5 }]);
  });

  it('makes bad values safe and reports them instead of throwing', async () => {
    const inp = input(
      2,
      [
        area('g', Number.NaN), evse('a', 'g', 11),
        area('h', -5), evse('b', 'h', 11),
        area('k'), evse('c', 'k', 11), evse('c', 'k', 99),
        evse('orphan', 'nowhere', 11),
        area('m'), { id: 'nomax', kind: 'evse', parentId: 'm' },
      ],
      [demand('A', 'a', 0, 2, 5), demand('C', 'c', 0, 2, Number.NaN), demand('X', 'ghost', 0, 2, 3), demand('O', 'orphan', 0, 2, 4)],
      [envelope('k', [Number.NaN, 4]), envelope('ghost', [1, 1])],
    );
    const a = await solveVerified(inp);
    assert.equal(a.status, 'optimal');
    assert.deepEqual(a.nodeLimitsKw.g, [0, 0]);
    assert.deepEqual(a.nodeLimitsKw.h, [0, 0]);
    assert.deepEqual(a.nodeLimitsKw.k, [0, 4]);
    assert.deepEqual(schedule(a, 'orphan').capKw, [0, 0]);
    assert.deepEqual(schedule(a, 'nomax').capKw, [0, 0]);
    assert.equal(a.evses.filter((e) => e.evseId === 'c').length, 1);
    // Session C is present with an invalid (so 0) energy need: its cap is its setpoint, 0.
    assert.deepEqual(schedule(a, 'c').capKw, [0, 0]);
    for (const text of ['invalid import limit', 'duplicate node id c', 'not under any root', 'no finite maxPowerKw', 'ghost', 'energy NaN']) {
      assert.ok(a.reason?.includes(text), `reason should mention "${text}": ${a.reason}`);
    }
    assert.deepEqual(a.unmet.map((u) => u.sessionId).sort(), ['A', 'O', 'X']);
  });

  it('answers with zeros when the horizon is unusable', async () => {
    const inp: AllocationInput = { ...input(3, [area('g'), evse('a', 'g', 11)], [demand('A', 'a', 0, 3, 5)]) };
    inp.horizon = { ...inp.horizon, intervalMinutes: 0 };
    const a = await allocate(inp);
    assert.equal(a.status, 'fallback');
    assert.match(a.reason ?? '', /invalid horizon/);
    assert.deepEqual(schedule(a, 'a').kw, [0, 0, 0]);
  });

  it('keeps the session that arrived last when two name the same EVSE', async () => {
    const inp = input(4, [area('g'), evse('a', 'g', 11)], [demand('old', 'a', 0, 2, 1), demand('new', 'a', 2, 4, 1)]);
    const a = await solveVerified(inp);
    assert.equal(schedule(a, 'a').sessionId, 'new');
    assert.deepEqual(schedule(a, 'a').kw.slice(0, 2), [0, 0]);
    assert.match(a.reason ?? '', /session old ignored/);
  });
});
