import assert from 'node:assert/strict';
import {
  BEGINNING_OF_TIME_MS,
  EventRequest,
  ProgramRequest,
  addDuration,
  eventSignals,
  expandEvent,
  isActive,
  parseDuration,
  signalsToEnvelopes,
  validateEventTiming,
} from '../../../grid-adapters/openadr3/index.ts';

const H = 3_600_000;
const T0 = Date.parse('2025-06-25T00:00:00.000Z');
const NOW = Date.parse('2025-06-24T12:00:00.000Z');

function ev(e: Record<string, unknown>): EventRequest {
  return EventRequest.parse({ programID: 'p1', ...e });
}

describe('OpenADR 3 durations', () => {
  it('parses the document pattern and adds calendar steps in UTC', () => {
    assert.deepEqual(parseDuration('PT1H30M'), { sign: 1, years: 0, months: 0, days: 0, ms: 1.5 * H });
    assert.equal(parseDuration('P1W')!.days, 7);
    assert.equal(parseDuration('1H'), null);
    assert.equal(parseDuration('P0S'), null, 'seconds need the T designator');
    assert.equal(addDuration(Date.parse('2024-01-31T00:00:00Z'), 'P1M'), Date.parse('2024-03-02T00:00:00Z'));
    assert.equal(addDuration(T0, 'P1D'), T0 + 24 * H);
  });
  it('P9999Y is infinity (User Guide 7.3 intervalPeriod.duration)', () => {
    assert.equal(addDuration(T0, 'P9999Y'), Infinity);
  });
});

describe('OpenADR 3 interval timing (User Guide 7.3, 7.4)', () => {
  it('event.intervalPeriod sets the first start and every duration; intervals follow each other', () => {
    const t = expandEvent(ev({ intervalPeriod: { start: '2025-06-25T00:00:00.000Z', duration: 'PT1H' }, intervals: [0, 1, 2].map((id) => ({ id, payloads: [] })) }), { nowMs: NOW });
    assert.deepEqual(t.intervals.map((i) => [i.startMs - T0, i.endMs - T0]), [[0, H], [H, 2 * H], [2 * H, 3 * H]]);
    assert.equal(t.endMs, T0 + 3 * H);
  });

  it('Example 7.4-1: an interval overriding the duration keeps the following contiguous', () => {
    const t = expandEvent(
      ev({
        intervalPeriod: { start: '2023-02-10T00:00:00.000Z', duration: 'PT1H' },
        intervals: [
          { id: 0, payloads: [{ type: 'PRICE', values: [0.17] }] },
          { id: 1, intervalPeriod: { duration: 'PT2H' }, payloads: [{ type: 'PRICE', values: [0.22] }] },
        ],
      }),
      { nowMs: NOW },
    );
    const s = Date.parse('2023-02-10T00:00:00.000Z');
    assert.deepEqual(t.intervals.map((i) => [i.startMs - s, i.endMs - s]), [[0, H], [H, 3 * H]]);
  });

  it("'0001-01-01' with P9999Y is a 'do it now' event: active at any time", () => {
    const t = expandEvent(ev({ intervalPeriod: { start: '0001-01-01', duration: 'P9999Y' }, intervals: [{ id: 0, payloads: [{ type: 'SIMPLE', values: [2] }] }] }), { nowMs: NOW });
    assert.equal(t.startMs, BEGINNING_OF_TIME_MS);
    assert.equal(t.endMs, Infinity);
    assert.ok(isActive(t, NOW));
  });

  it("7.9 cancellation: '0001-01-01' with PT0S is over", () => {
    const t = expandEvent(ev({ intervalPeriod: { start: '0001-01-01T00:00:00', duration: 'PT0S' }, intervals: [{ id: 0, payloads: [] }] }), { nowMs: NOW });
    assert.equal(isActive(t, NOW), false);
  });

  it('a first interval without any start is do-it-now (starts at nowMs)', () => {
    const t = expandEvent(ev({ intervals: [{ id: 0, intervalPeriod: { duration: 'PT1H' }, payloads: [] }] }), { nowMs: NOW });
    assert.equal(t.startMs, NOW);
    assert.equal(t.endMs, NOW + H);
  });

  it('event.duration truncates, and loops the intervals when longer', () => {
    const base = { intervalPeriod: { start: '2025-06-25T00:00:00.000Z', duration: 'PT1H' }, intervals: [0, 1].map((id) => ({ id, payloads: [{ type: 'PRICE', values: [id] }] })) };
    const cut = expandEvent(ev({ ...base, duration: 'PT90M' }), { nowMs: NOW });
    assert.deepEqual(cut.intervals.map((i) => [i.id, i.endMs - i.startMs]), [[0, H], [1, H / 2]]);
    const loop = expandEvent(ev({ ...base, duration: 'PT5H' }), { nowMs: NOW });
    assert.deepEqual(loop.intervals.map((i) => i.id), [0, 1, 0, 1, 0]);
    assert.equal(loop.intervals.at(-1)!.endMs, T0 + 5 * H);
    const forever = expandEvent(ev({ ...base, duration: 'P9999Y' }), { nowMs: NOW, untilMs: T0 + 10 * H });
    assert.equal(forever.intervals.length, 10);
    assert.equal(forever.endMs, Infinity);
  });

  it('rejects intervals without any intervalPeriod when the event has none (7.4), and duplicate ids', () => {
    assert.deepEqual(validateEventTiming(ev({ intervals: [{ id: 0, payloads: [] }] })).length, 1);
    assert.deepEqual(validateEventTiming(ev({ intervalPeriod: { duration: 'PT1H' }, intervals: [{ id: 0, payloads: [] }, { id: 0, payloads: [] }] })).length, 1);
    assert.equal(EventRequest.safeParse({ programID: 'p', intervalPeriod: { duration: '1 hour' } }).success, false);
    assert.equal(EventRequest.safeParse({ programID: 'p/1' }).success, false, 'objectID is URL safe');
    assert.equal(ProgramRequest.safeParse({ programName: '' }).success, false);
  });
});

describe('OpenADR 3 events → DR signals → capacity envelopes', () => {
  it('Example 7.3-1: three prices in one PT3H interval are three hourly sub-intervals', () => {
    const e = ev({
      payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'PRICE', units: 'KWH', currency: 'USD' }],
      intervals: [{ id: 0, intervalPeriod: { start: '2025-06-25T00:00:00.000Z', duration: 'PT3H' }, payloads: [{ type: 'PRICE', values: [0.17, 0.03, 0.11] }] }],
    });
    const { signals } = eventSignals(e, { nowMs: NOW });
    assert.deepEqual(signals.map((s) => [s.kind, s.startMs - T0, s.endMs - T0, s.value, s.unit]), [
      ['price', 0, H, 0.17, 'USD/KWH'],
      ['price', H, 2 * H, 0.03, 'USD/KWH'],
      ['price', 2 * H, 3 * H, 0.11, 'USD/KWH'],
    ]);
  });

  it('reads capacity limits in the descriptor units, skips non-power units, widens by randomizeStart', () => {
    const e = ev({
      payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'IMPORT_CAPACITY_LIMIT', units: 'W' }, { objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'EXPORT_CAPACITY_LIMIT', units: 'KWH' }],
      intervalPeriod: { start: '2025-06-25T00:00:00.000Z', duration: 'PT1H', randomizeStart: 'PT5M' },
      intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [50_000] }, { type: 'EXPORT_CAPACITY_LIMIT', values: [10] }] }],
    });
    const { signals, skipped } = eventSignals(e, { nowMs: NOW });
    assert.deepEqual(signals, [{ kind: 'import_limit', startMs: T0 - 5 * 60_000, endMs: T0 + H + 5 * 60_000, value: 50, unit: 'KW' }]);
    assert.equal(skipped.length, 1);
  });

  it('maps limits onto horizon intervals: lowest wins, partial overlap counts', () => {
    const h = { startMs: T0, intervalMinutes: 15, count: 6 };
    const envs = signalsToEnvelopes(
      [
        { nodeId: 'cp1', kind: 'import_limit', startMs: T0 + 20 * 60_000, endMs: T0 + 45 * 60_000, value: 40, unit: 'KW' },
        { nodeId: 'cp1', kind: 'import_limit', startMs: T0, endMs: Infinity, value: 60, unit: 'KW' },
        { nodeId: 'cp1', kind: 'price', startMs: T0, endMs: Infinity, value: 0.3, unit: null },
      ],
      h,
    );
    assert.deepEqual(envs, [{ nodeId: 'cp1', importKw: [60, 40, 40, 60, 60, 60], exportKw: [null, null, null, null, null, null] }]);
  });
});
