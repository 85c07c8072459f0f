import assert from 'node:assert/strict';
import { EventRequest, expandEvent, reportOnlyIntervals, reportSchedule, reportUnits, reportValue } from '../../../grid-adapters/openadr3/index.ts';

const H = 3_600_000;
const T0 = Date.parse('2025-06-25T00:00:00.000Z');
/** n hourly intervals from T0. */
const hourly = (n: number) => Array.from({ length: n }, (_, i) => ({ startMs: T0 + i * H, endMs: T0 + (i + 1) * H }));
const FAR = T0 + 1000 * H;
const brief = (r: ReturnType<typeof reportSchedule>) => r.map((x) => [x.first, x.last, (x.dueMs - T0) / H]);

describe('OpenADR 3 report descriptor scheduling (User Guide 7.5)', () => {
  it('defaults: one historical report on all intervals at the end of the last', () => {
    assert.deepEqual(brief(reportSchedule({}, hourly(4), { untilMs: FAR })), [[0, 3, 4]]);
  });

  it('forecast (historical = false): one report on all intervals, due when the first starts', () => {
    assert.deepEqual(brief(reportSchedule({ historical: false }, hourly(4), { untilMs: FAR })), [[0, 3, 0]]);
  });

  it('subset: numIntervals 3 ending at startInterval 3 (historical), or starting at startInterval 1 (forecast)', () => {
    // historical: "intervals preceding the startInterval determine reporting periods"
    assert.deepEqual(brief(reportSchedule({ startInterval: 3, numIntervals: 3 }, hourly(5), { untilMs: FAR })), [[1, 3, 4]]);
    assert.deepEqual(brief(reportSchedule({ startInterval: 1, numIntervals: 3, historical: false }, hourly(5), { untilMs: FAR })), [[1, 3, 1]]);
  });

  it('periodic: startInterval 1, numIntervals 2, frequency 2, repeat 3 → [0,1] at end of 1, [2,3] at end of 3, [4,5] at end of 5', () => {
    assert.deepEqual(brief(reportSchedule({ startInterval: 1, numIntervals: 2, frequency: 2, repeat: 3 }, hourly(6), { untilMs: FAR })), [
      [0, 1, 2],
      [2, 3, 4],
      [4, 5, 6],
    ]);
  });

  it('rolling forecasts: startInterval 0, numIntervals 3, frequency 1, repeat 3, historical false', () => {
    assert.deepEqual(brief(reportSchedule({ startInterval: 0, numIntervals: 3, frequency: 1, repeat: 3, historical: false }, hourly(5), { untilMs: FAR })), [
      [0, 2, 0],
      [1, 3, 1],
      [2, 4, 2],
    ]);
  });

  it('frequency 1, repeat 3 on single intervals: three reports an hour apart', () => {
    const r = reportSchedule({ startInterval: 0, numIntervals: 1, frequency: 1, repeat: 3 }, hourly(4), { untilMs: FAR });
    assert.deepEqual(brief(r), [[0, 0, 1], [1, 1, 2], [2, 2, 3]]);
    assert.deepEqual(r.map((x) => x.seq), [0, 1, 2]);
  });

  it('frequency -1 is numIntervals; repeat stops where the intervals run out; repeat -1 until then', () => {
    assert.deepEqual(brief(reportSchedule({ startInterval: 1, numIntervals: 2, repeat: 5 }, hourly(6), { untilMs: FAR })), [[0, 1, 2], [2, 3, 4], [4, 5, 6]]);
    assert.deepEqual(brief(reportSchedule({ startInterval: 0, numIntervals: 1, frequency: 2, repeat: -1 }, hourly(5), { untilMs: FAR })), [[0, 0, 1], [2, 2, 3], [4, 4, 5]]);
    assert.deepEqual(reportSchedule({ startInterval: 9 }, hourly(4), { untilMs: FAR }), [], 'no interval 9: nothing to report');
  });

  it('frequency 0 (ad hoc): one report, when frequency -1 would send it', () => {
    assert.deepEqual(brief(reportSchedule({ frequency: 0, repeat: 5 }, hourly(3), { untilMs: FAR })), [[0, 2, 3]]);
  });

  it('looping intervals: one report per loop (numIntervals and frequency -1 = one loop), up to the horizon', () => {
    const e = EventRequest.parse({
      programID: 'p', duration: 'P9999Y', intervalPeriod: { start: new Date(T0).toISOString(), duration: 'PT1H' },
      intervals: [0, 1, 2].map((id) => ({ id, payloads: [{ type: 'PRICE', values: [id] }] })),
    });
    const t = expandEvent(e, { nowMs: T0, untilMs: T0 + 12 * H });
    const r = reportSchedule({ repeat: -1 }, t.intervals, { loopLength: 3, untilMs: T0 + 7 * H });
    assert.deepEqual(brief(r), [[0, 2, 3], [3, 5, 6]], 'the report due at +9 h is past the horizon');
    assert.deepEqual(t.intervals.slice(3, 6).map((i) => i.id), [0, 1, 2], 'looped intervals keep their ids');
  });

  it('an infinite last interval is never due for a historical report', () => {
    assert.deepEqual(reportSchedule({}, [{ startMs: T0, endMs: Infinity }], { untilMs: FAR }), []);
  });

  it('report-only events: consecutive periods of the event intervalPeriod', () => {
    assert.deepEqual(reportOnlyIntervals(T0, H, T0 + 3 * H), [
      { id: 0, startMs: T0, endMs: T0 + H },
      { id: 1, startMs: T0 + H, endMs: T0 + 2 * H },
      { id: 2, startMs: T0 + 2 * H, endMs: T0 + 3 * H },
    ]);
    assert.deepEqual(reportOnlyIntervals(T0, 0, T0 + H), []);
  });
});

describe('OpenADR 3 report values from measurements', () => {
  it('USAGE is energy, DEMAND power, DELTA_USAGE usage − baseline, in the units asked for', () => {
    assert.equal(reportValue('USAGE', undefined, 10, null, 0.25), 2.5);
    assert.equal(reportValue('USAGE', 'WH', 10, null, 0.25), 2500);
    assert.equal(reportValue('DEMAND', 'KW', 10, null, 0.25), 10);
    assert.equal(reportValue('DEMAND', 'MW', 10, null, 0.25), 0.01);
    assert.equal(reportValue('BASELINE', undefined, 10, 16, 0.5), 16, 'a baseline defaults to power');
    assert.equal(reportValue('BASELINE', 'KWH', 10, 16, 0.5), 8);
    assert.equal(reportValue('DELTA_USAGE', undefined, 10, 16, 0.5), -3, '6 kW less for half an hour: 3 kWh delivered');
    assert.equal(reportValue('DELTA_USAGE', undefined, 10, null, 0.5), null);
    assert.equal(reportValue('READING', undefined, 10, 16, 0.5), null);
    assert.equal(reportUnits('USAGE', 'KW'), 'KWH', 'USAGE is an energy whatever the descriptor says');
  });
});
