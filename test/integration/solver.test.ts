import assert from 'node:assert/strict';
import pino from 'pino';
import { allocate, verifyAllocation } from '../../optimizer/index.ts';
import { createSolver } from '../../services/core/solver.ts';
import { syntheticInstance } from '../../bench/optimizer-bench.ts';

describe('solver worker', function () {
  this.timeout(60_000);
  const log = pino({ level: 'silent' });

  it('returns the same allocation as allocate() in-process, off the main thread', async () => {
    const solver = createSolver({ log, timeLimitSec: 20 });
    try {
      const input = syntheticInstance(5, 7);
      const [inWorker, inProcess] = [await solver.allocate(input), await allocate(input)];
      assert.equal(inWorker.status, 'optimal');
      assert.deepEqual(verifyAllocation(input, inWorker).violations, []);
      assert.ok(Math.abs(inWorker.objective - inProcess.objective) <= 1e-6 * Math.max(1, Math.abs(inProcess.objective)));
      assert.deepEqual(inWorker.evses.map((e) => e.kw), inProcess.evses.map((e) => e.kw));
    } finally {
      await solver.close();
    }
  });

  it('answers with the safe fallback when the worker overruns its budget, and recovers', async () => {
    const solver = createSolver({ log, timeLimitSec: 20, graceMs: 0 });
    try {
      const big = { ...syntheticInstance(300, 3), timeLimitSec: 0.001 };
      const a = await solver.allocate(big);
      assert.equal(a.status, 'fallback');
      assert.deepEqual(verifyAllocation(big, a).violations, []);
      const small = syntheticInstance(3, 5);
      const b = await solver.allocate(small);
      assert.notEqual(b.status, 'fallback', b.reason);
    } finally {
      await solver.close();
    }
  });
});
