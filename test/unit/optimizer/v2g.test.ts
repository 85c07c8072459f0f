import assert from 'node:assert/strict';
import { allocate, verifyAllocation, type Allocation, type AllocationInput } from '../../../optimizer/index.ts';
import { area, demand, evse, input, node } from './builders.ts';

const v2g = { maxDischargeKw: 7, minSocKwh: 10, socKwh: 30, capacityKwh: 40 };

/**
 * Area g (export limit 6 kW) → site s (export 5 kW by envelope in interval 1): a V2G session on a
 * (wants 50 kWh, the battery takes only 10), a V2G session on b, a plain session on c.
 */
function fixture(): AllocationInput {
  const inp = input(
    4,
    [{ ...area('g'), exportLimitKw: 6 }, node('s', 'site', 'g', 40), evse('a', 's', 11), evse('b', 's', 11), evse('c', 's', 11)],
    [demand('A', 'a', 0, 4, 50, { v2g }), demand('B', 'b', 0, 4, 2, { v2g: { ...v2g, socKwh: 12 } }), demand('C', 'c', 0, 4, 2)],
  );
  inp.envelopes.push({ nodeId: 's', importKw: [null, null, null, null], exportKw: [null, 5, null, null] });
  return inp;
}

describe('V2G demands (SoC ceiling) and the export side of verifyAllocation', () => {
  let good: Allocation;
  before(async () => {
    good = await allocate(fixture());
  });
  const evseOf = (a: Allocation, id: string) => a.evses.find((e) => e.evseId === id)!;

  it('never charges a battery above its capacity, and says why less is planned', () => {
    assert.deepEqual(verifyAllocation(fixture(), good).violations, []);
    const kwh = evseOf(good, 'a').kw.reduce((s, x) => s + x * 0.25, 0);
    assert.ok(Math.abs(kwh - 10) < 1e-9, `${kwh} kWh`);
    assert.match(good.reason ?? '', /session A: 50 kWh wanted but the battery takes only 10 kWh/);
    assert.deepEqual(good.unmet, []);
    for (const e of good.evses) for (const kw of e.kw) assert.ok(kw >= 0);
  });

  it('reports invalid V2G values and plans the session as plain charging', async () => {
    const inp = fixture();
    inp.demands[0] = { ...inp.demands[0]!, v2g: { ...v2g, capacityKwh: Number.NaN } };
    const a = await allocate(inp);
    assert.match(a.reason ?? '', /session A: v2g state is invalid/);
    assert.deepEqual(verifyAllocation(inp, a).violations.filter((v) => !/SoC|capacity/.test(v)), []);
  });

  const set = (a: Allocation, id: string, t: number, kw: number): void => {
    evseOf(a, id).kw[t] = kw;
  };
  const cases: [string, (a: Allocation) => void, RegExp][] = [
    ['discharge by a session without V2G', (a) => set(a, 'c', 0, -1), /EVSE c interval 0: kw -1 is not a finite value >= 0/],
    ['discharge above the V2G max', (a) => set(a, 'a', 0, -8), /EVSE a interval 0: discharge 8 kW above the V2G max 7/],
    ['a SoC under the min after discharging', (a) => { set(a, 'b', 0, -6); set(a, 'b', 1, -6); }, /EVSE b interval 1: SoC 9 kWh under the V2G min 10 after discharging/],
    ['export above a node limit', (a) => { set(a, 'a', 2, -4); set(a, 'b', 2, -3); set(a, 'c', 2, 0); }, /node g interval 2: export 7 kW above the export limit 6/],
    ['export above an envelope export limit', (a) => { set(a, 'a', 1, -4); set(a, 'b', 1, -2); set(a, 'c', 1, 0); }, /node s interval 1: export 6 kW above the export limit 5/],
    ['a SoC above the capacity', (a) => { for (let t = 0; t < 4; t++) { set(a, 'a', t, 11); evseOf(a, 'a').capKw[t] = 11; } }, /EVSE a interval \d: SoC .* above the battery capacity 40/],
  ];
  for (const [what, mutate, expected] of cases) {
    it(`reports ${what}`, () => {
      const copy = structuredClone(good);
      mutate(copy);
      const v = verifyAllocation(fixture(), copy).violations;
      assert.ok(v.some((m) => expected.test(m)), `expected ${expected} in ${JSON.stringify(v)}`);
    });
  }
});
