import assert from 'node:assert/strict';
import { allocate, verifyAllocation, type Allocation, type AllocationInput } from '../../../optimizer/index.ts';
import { area, demand, envelope, evse, input, node } from './builders.ts';

/** Site s (12 kW, 8 kW in interval 1 by forecast) with a charging EVSE a (min 2 kW) and an idle EVSE b. */
function fixture(): AllocationInput {
  return input(
    4,
    [area('g'), node('s', 'site', 'g', 12), evse('a', 's', 11, 2), evse('b', 's', 11)],
    [demand('A', 'a', 1, 3, 4)],
    [envelope('s', [null, 8, null, null])],
  );
}

function violationsAfter(a: Allocation, mutate: (copy: Allocation) => void): string[] {
  const copy = structuredClone(a);
  mutate(copy);
  return verifyAllocation(fixture(), copy).violations;
}

describe('verifyAllocation', () => {
  let good: Allocation;

  before(async () => {
    good = await allocate(fixture());
  });

  const evseOf = (a: Allocation, id: string) => a.evses.find((e) => e.evseId === id)!;

  it('accepts the allocation the solver made', () => {
    assert.deepEqual(verifyAllocation(fixture(), good), { ok: true, violations: [] });
  });

  const cases: [string, (a: Allocation) => void, RegExp][] = [
    ['a cap sum above a node limit', (a) => { evseOf(a, 'b').capKw[1] = 11; a.nodeTotalsKw.s![1]! += 11; }, /node s interval 1: sum of capKw .* above the import limit 8/],
    ['charging before arrival', (a) => { evseOf(a, 'a').kw[0] = 3; evseOf(a, 'a').capKw[0] = 3; }, /EVSE a interval 0: kw 3 while no session is present/],
    ['kw above cap', (a) => { evseOf(a, 'b').capKw[0] = 0; evseOf(a, 'b').kw[0] = 0.5; }, /EVSE b interval 0: kw 0.5 above capKw 0/],
    ['a cap above the EVSE max', (a) => { evseOf(a, 'b').capKw[3] = 12; }, /EVSE b interval 3: capKw 12 above the EVSE max 11/],
    ['a setpoint under the min power', (a) => { evseOf(a, 'a').kw[2] = 1; evseOf(a, 'a').capKw[2] = 1; }, /EVSE a interval 2: kw 1 under the min power 2/],
    ['a non-finite setpoint', (a) => { evseOf(a, 'a').kw[1] = Number.NaN; }, /EVSE a interval 1: kw NaN is not a finite value/],
    ['a negative cap', (a) => { evseOf(a, 'b').capKw[0] = -1; }, /EVSE b interval 0: capKw -1 is not a finite value/],
    ['more energy than needed', (a) => { evseOf(a, 'a').kw[2] = 11; evseOf(a, 'a').capKw[2] = 11; }, /session A on EVSE a: .* kWh delivered, 4 kWh needed/],
    ['a missing EVSE', (a) => { a.evses = a.evses.filter((e) => e.evseId !== 'b'); }, /EVSE b has no schedule/],
    ['an EVSE twice', (a) => { a.evses.push(structuredClone(evseOf(a, 'b'))); }, /EVSE b has more than one schedule/],
    ['a short array', (a) => { evseOf(a, 'a').kw.pop(); }, /EVSE a: kw has 3 .* horizon has 4/],
    ['inconsistent node totals', (a) => { a.nodeTotalsKw.g![2] = 1; }, /node g interval 2: nodeTotalsKw 1/],
    ['a wrong reported limit', (a) => { a.nodeLimitsKw.s![1] = 12; }, /node s interval 1: nodeLimitsKw 12 but the effective limit is 8/],
    ['an unknown session', (a) => { evseOf(a, 'b').sessionId = 'nope'; }, /EVSE b: session nope is not an input demand/],
  ];
  for (const [what, mutate, expected] of cases) {
    it(`reports ${what}`, () => {
      const v = violationsAfter(good, mutate);
      assert.ok(v.some((m) => expected.test(m)), `expected ${expected} in ${JSON.stringify(v)}`);
    });
  }

  it('requires EVSEs under no root to stay at 0', () => {
    const inp = input(1, [area('g'), evse('lost', 'missing-site', 11)]);
    const alloc: Allocation = {
      status: 'optimal', horizon: inp.horizon, unmet: [], binding: [], objective: 0, solveMs: 0,
      evses: [{ evseId: 'lost', sessionId: null, kw: [0], capKw: [11] }],
      nodeTotalsKw: { g: [0], lost: [0] },
      nodeLimitsKw: { g: [Number.POSITIVE_INFINITY], lost: [Number.POSITIVE_INFINITY] },
    };
    const { ok, violations } = verifyAllocation(inp, alloc);
    assert.equal(ok, false);
    assert.match(violations.join('\n'), /EVSE lost interval 0: EVSE is under no root/);
  });
});
