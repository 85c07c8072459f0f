import assert from 'node:assert/strict';
import { createTokenBuckets } from '../../../services/openadr/auth-rate-limit.ts';

describe('OpenADR auth token buckets', () => {
  it('allows a burst, then one more per refill period; keys are independent', () => {
    const clock = { now: 1_000_000 };
    const b = createTokenBuckets({ burst: 2, perMinute: 6 }, () => clock.now);
    assert.equal(b.waitS('a'), 0);
    b.take('a');
    b.take('a');
    assert.equal(b.waitS('a'), 10, 'one token every 10 s');
    assert.equal(b.waitS('b'), 0, 'another key is full');
    clock.now += 4_000;
    assert.equal(b.waitS('a'), 6);
    clock.now += 6_000;
    assert.equal(b.waitS('a'), 0);
    clock.now += 3_600_000;
    b.take('a');
    b.take('a');
    assert.equal(b.waitS('a'), 10, 'refill is capped at the burst');
  });

  it('a clock stepping back neither refills nor drains', () => {
    const clock = { now: 5_000_000 };
    const b = createTokenBuckets({ burst: 3, perMinute: 60 }, () => clock.now);
    b.take('k');
    clock.now -= 3_600_000;
    assert.equal(b.waitS('k'), 0, 'two tokens left');
    b.take('k');
    b.take('k');
    assert.equal(b.waitS('k'), 1);
  });

  it('forgets the least recently failed keys beyond its size (memory bound)', () => {
    const b = createTokenBuckets({ burst: 1, perMinute: 1 }, () => 0, 2);
    b.take('x');
    b.take('y');
    b.take('z');
    assert.equal(b.waitS('x'), 0, 'x was dropped: full again');
    assert.equal(b.waitS('z'), 60);
  });
});
