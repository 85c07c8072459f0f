import assert from 'node:assert/strict';
import { OscpMappingError, blockKw, forecastToBlocksKw, parseDateTimeMs } from '../../../grid-adapters/oscp/index.ts';
import { Q, T0, aForecast, blockQ } from '../../helpers/oscp-builders.ts';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);

describe('OSCP forecast → kW', () => {
  describe('units', () => {
    it('takes KW as is and divides W by 1000', () => {
      assert.equal(blockKw({ capacity: 42.5, unit: 'KW', phase: 'ALL' }, {}), 42.5);
      assert.equal(blockKw({ capacity: 11_000, unit: 'W', phase: 'ALL' }, {}), 11);
    });

    it('ignores the phase indicator for power units (the value is the group total)', () => {
      for (const phase of ['ONE', 'TWO', 'THREE', 'UNKNOWN', 'ALL'] as const) assert.equal(blockKw({ capacity: 7, unit: 'KW', phase }, { phases: 3 }), 7);
    });

    it('A with phase ALL: per phase on every phase, 230 V and 3 phases by default', () => {
      close(blockKw({ capacity: 16, unit: 'A', phase: 'ALL' }, {}), (16 * 230 * 3) / 1000); // 11.04 kW
      close(blockKw({ capacity: 16, unit: 'A', phase: 'ALL' }, { voltageV: null, phases: null }), 11.04);
    });

    it("A uses the node's voltage and phase count", () => {
      close(blockKw({ capacity: 32, unit: 'A', phase: 'ALL' }, { voltageV: 240, phases: 1 }), (32 * 240) / 1000);
      close(blockKw({ capacity: 32, unit: 'A', phase: 'ALL' }, { voltageV: 220, phases: 3 }), (32 * 220 * 3) / 1000);
    });

    it('A on one phase (ONE/TWO/THREE) is the balanced 3-phase total A·V·3, or A·V on a single-phase node', () => {
      for (const phase of ['ONE', 'TWO', 'THREE'] as const) {
        close(blockKw({ capacity: 10, unit: 'A', phase }, {}), 6.9);
        close(blockKw({ capacity: 10, unit: 'A', phase }, { phases: 1 }), 2.3);
      }
    });

    it('A with phase UNKNOWN reads like ALL', () => {
      close(blockKw({ capacity: 10, unit: 'A', phase: 'UNKNOWN' }, {}), 6.9);
    });

    it('falls back to 230 V for a nonsensical stored voltage', () => {
      close(blockKw({ capacity: 10, unit: 'A', phase: 'ALL' }, { voltageV: 0, phases: 3 }), 6.9);
    });

    it('rejects the energy units WH and KWH with a clear reason', () => {
      for (const unit of ['WH', 'KWH'] as const) {
        assert.throws(
          () => forecastToBlocksKw(aForecast((f) => (f.forecasted_blocks = [blockQ(0, 4, 10), blockQ(4, 8, 10, unit)])), {}),
          (e: unknown) => e instanceof OscpMappingError && e.message === `forecasted_blocks[1]: unit ${unit} is an energy unit; a capacity forecast needs A, W or KW`,
        );
      }
    });
  });

  describe('blocks', () => {
    it('maps blocks to sorted kW blocks with epoch ms times and keeps the type', () => {
      for (const type of ['CONSUMPTION', 'GENERATION', 'FALLBACK_CONSUMPTION', 'FALLBACK_GENERATION', 'OPTIMUM'] as const) {
        const m = forecastToBlocksKw(aForecast((f) => ((f.type = type), (f.forecasted_blocks = [blockQ(4, 8, 30), blockQ(0, 4, 40_000, 'W')]))), {});
        assert.equal(m.type, type);
        assert.deepEqual(m.blocks, [
          { startMs: T0, endMs: T0 + 4 * Q, kw: 40 },
          { startMs: T0 + 4 * Q, endMs: T0 + 8 * Q, kw: 30 },
        ]);
      }
    });

    it('keeps gaps (no limit there) and adjacent blocks of equal value apart', () => {
      const m = forecastToBlocksKw(aForecast((f) => (f.forecasted_blocks = [blockQ(0, 2, 10), blockQ(2, 4, 10), blockQ(6, 8, 5)])), {});
      assert.deepEqual(m.blocks.map((b) => [b.startMs, b.endMs, b.kw]), [[T0, T0 + 2 * Q, 10], [T0 + 2 * Q, T0 + 4 * Q, 10], [T0 + 6 * Q, T0 + 8 * Q, 5]]);
    });

    it('reads offsets: 13:00+01:00 is 12:00Z', () => {
      const m = forecastToBlocksKw(aForecast((f) => (f.forecasted_blocks = [{ capacity: 1, phase: 'ALL', unit: 'KW', start_time: '2026-11-23T13:00:00+01:00', end_time: '2026-11-23T12:15:00Z' }])), {});
      assert.deepEqual(m.blocks, [{ startMs: T0, endMs: T0 + Q, kw: 1 }]);
    });

    it('rejects a block that ends at or before its start', () => {
      assert.throws(() => forecastToBlocksKw(aForecast((f) => (f.forecasted_blocks = [blockQ(0, 4, 1), blockQ(5, 5, 1)])), {}), /forecasted_blocks\[1\]: end_time must be after start_time/);
      assert.throws(() => forecastToBlocksKw(aForecast((f) => (f.forecasted_blocks = [blockQ(3, 2, 1)])), {}), /forecasted_blocks\[0\]: end_time must be after start_time/);
    });

    it('rejects overlapping blocks of one phase indicator, naming both', () => {
      assert.throws(
        () => forecastToBlocksKw(aForecast((f) => (f.forecasted_blocks = [blockQ(0, 4, 1), blockQ(8, 12, 1), blockQ(3, 6, 1)])), {}),
        /forecasted_blocks\[0\] and forecasted_blocks\[2\] overlap \(phase ALL\)/,
      );
    });

    it('combines overlapping blocks of different phases into the lowest kW per stretch of time', () => {
      // ALL 32 A from 0 to 8; ONE 16 A from 2 to 4; TWO 20 A from 3 to 6 (230 V, 3 phases)
      const kw = (a: number) => (a * 230 * 3) / 1000;
      const m = forecastToBlocksKw(
        aForecast((f) => (f.forecasted_blocks = [blockQ(0, 8, 32, 'A', 'ALL'), blockQ(2, 4, 16, 'A', 'ONE'), blockQ(3, 6, 20, 'A', 'TWO')])),
        {},
      );
      assert.deepEqual(
        m.blocks.map((b) => [(b.startMs - T0) / Q, (b.endMs - T0) / Q, Math.round(b.kw * 1000) / 1000]),
        [[0, 2, kw(32)], [2, 4, kw(16)], [4, 6, kw(20)], [6, 8, kw(32)]].map(([s, e, k]) => [s, e, Math.round(k! * 1000) / 1000]),
      );
      // non-overlapping, as the store needs
      for (let i = 1; i < m.blocks.length; i++) assert.ok(m.blocks[i]!.startMs >= m.blocks[i - 1]!.endMs);
    });

    it('rejects a capacity that overflows once converted', () => {
      assert.throws(() => forecastToBlocksKw(aForecast((f) => (f.forecasted_blocks = [blockQ(0, 1, 1e307, 'A')])), {}), /forecasted_blocks\[0\]: capacity too large/);
    });

    it('handles thousands of blocks quickly', () => {
      const blocks = Array.from({ length: 5000 }, (_, i) => blockQ(i, i + 1, i % 50, 'KW', i % 2 ? 'ONE' : 'ALL'));
      const t = Date.now();
      const m = forecastToBlocksKw(aForecast((f) => (f.forecasted_blocks = blocks)), {});
      assert.equal(m.blocks.length, 5000);
      assert.ok(Date.now() - t < 500, 'linear, not quadratic');
    });
  });
});

describe('OSCP date-time', () => {
  it('parses RFC 3339 date-times to epoch ms', () => {
    assert.equal(parseDateTimeMs('2026-11-23T12:00:00Z'), T0);
    assert.equal(parseDateTimeMs('2026-11-23t12:00:00.250z'), T0 + 250);
    assert.equal(parseDateTimeMs('2026-11-23 13:30:00+01:30'), T0);
    assert.equal(parseDateTimeMs('2026-11-23T11:00:00-01:00'), T0);
    assert.equal(parseDateTimeMs('0050-01-01T00:00:00Z'), Date.parse('0050-01-01T00:00:00Z'));
    assert.equal(parseDateTimeMs('2016-12-31T23:59:60Z'), Date.parse('2017-01-01T00:00:00Z'));
  });

  it('rejects what is not an RFC 3339 date-time with a zone', () => {
    for (const s of ['2026-11-23T12:00:00', '2026-11-23', '2026-02-30T00:00:00Z', '2026-11-23T24:00:00Z', '2026-11-23T12:00Z', '2026-11-23T12:00:00+24:00', '2026-11-23T12:00:60Z', 'yesterday', '']) {
      assert.equal(parseDateTimeMs(s), null, s);
    }
  });
});
