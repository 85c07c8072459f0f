import assert from 'node:assert/strict';
import { fallbackAllocation, verifyAllocation } from '../../../optimizer/index.ts';
import { area, demand, envelope, evse, input, node, sum } from './builders.ts';

describe('fallbackAllocation', () => {
  it('gives 0 kW setpoints and caps that share the headroom within every limit', () => {
    const inp = input(
      4,
      [area('ga', 30), node('site', 'site', 'ga', 20), node('cs', 'station', 'site'), evse('e1', 'cs', 11), evse('e2', 'cs', 11), node('cs2', 'station', 'ga'), evse('e3', 'cs2', 22)],
      [demand('s1', 'e1', 0, 4, 20)],
      [envelope('ga', [30, 10, 0, 30])],
    );
    const a = fallbackAllocation(inp, 'solver worker timed out');
    assert.equal(a.status, 'fallback');
    assert.match(a.reason ?? '', /timed out/);
    const check = verifyAllocation(inp, a);
    assert.deepEqual(check.violations, []);
    for (const e of a.evses) assert.ok(e.kw.every((v) => v === 0));
    const caps = (t: number) => sum(a.evses.map((e) => e.capKw[t]!));
    assert.ok(caps(0) > 0 && caps(0) <= 30 + 1e-9);
    assert.ok(caps(1) <= 10 + 1e-9);
    assert.equal(caps(2), 0);
  });
});
