import assert from 'node:assert/strict';
import type { Horizon } from '../../../optimizer/model.ts';
import { ConfigError, loadConfig } from '../../../services/config.ts';
import { parseTariff, tariffPrices, withTariff } from '../../../services/core/tariff.ts';
import type { Queryable } from '../../../services/store/db.ts';

const noDb = {} as Queryable;
const quarterHours = (startIso: string, count: number): Horizon => ({ startMs: Date.parse(startIso), intervalMinutes: 15, count });

describe('standing time-of-use tariff', () => {
  it('parses HH:MM=price entries in any order and refuses what it cannot read', () => {
    assert.deepEqual(parseTariff('23:00=0.21, 07:00=0.32'), [{ fromMinute: 420, price: 0.32 }, { fromMinute: 1380, price: 0.21 }]);
    assert.deepEqual(parseTariff('12:30=-0.05'), [{ fromMinute: 750, price: -0.05 }]);
    assert.throws(() => parseTariff('7:00=0.3'), /"7:00=0.3" is not HH:MM=price/);
    assert.throws(() => parseTariff('24:00=0.3'), /not HH:MM=price/);
    assert.throws(() => parseTariff('07:00=cheap'), /not HH:MM=price/);
    assert.throws(() => parseTariff(' , '), /at least one/);
    assert.throws(() => parseTariff('07:00=0.3,07:00=0.2'), /same time \(07:00\)/);
  });

  it('prices each interval by its local start time; before the first entry the previous day\'s last applies', () => {
    const entries = parseTariff('07:00=0.32,23:00=0.21');
    // 06:30..07:30 UTC in UTC: two cheap quarters (the 23:00 price carried over midnight), then two dear ones
    assert.deepEqual(tariffPrices(entries, 'UTC', quarterHours('2026-01-05T06:30:00Z', 4)), [0.21, 0.21, 0.32, 0.32]);
    // Amsterdam in winter is UTC+1: 07:00 local is 06:00 UTC
    assert.deepEqual(tariffPrices(entries, 'Europe/Amsterdam', quarterHours('2026-01-05T05:45:00Z', 2)), [0.21, 0.32]);
    // in summer UTC+2: the step follows the wall clock to 05:00 UTC
    assert.deepEqual(tariffPrices(entries, 'Europe/Amsterdam', quarterHours('2026-07-06T04:45:00Z', 2)), [0.21, 0.32]);
  });

  it('fills only the intervals without a dynamic price', async () => {
    const dynamic = async () => [0.5, null, Number.NaN, 0.1];
    const source = withTariff(dynamic, parseTariff('00:00=0.2'), 'UTC');
    assert.deepEqual(await source(noDb, 'ga', ['ga'], quarterHours('2026-01-05T00:00:00Z', 4)), [0.5, 0.2, 0.2, 0.1]);
    const noSignals = withTariff(async () => undefined, parseTariff('00:00=0.2'), 'UTC');
    assert.deepEqual(await noSignals(noDb, 'ga', ['ga'], quarterHours('2026-01-05T00:00:00Z', 2)), [0.2, 0.2]);
  });

  it('a bad TARIFF or time zone stops start-up naming the variable', () => {
    assert.equal(loadConfig({ TARIFF: '07:00=0.32,23:00=0.21', TARIFF_TIME_ZONE: 'Europe/Amsterdam' }).TARIFF_TIME_ZONE, 'Europe/Amsterdam');
    for (const [k, v] of [['TARIFF', '7am=0.3'], ['TARIFF_TIME_ZONE', 'Mars/Olympus']] as const) {
      assert.throws(() => loadConfig({ [k]: v }), (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.variable === k), k);
    }
  });
});
