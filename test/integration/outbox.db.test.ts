import assert from 'node:assert/strict';
import pino from 'pino';
import { forEachDriver, freshPgDb, pgAvailable, type TestDb } from '../helpers/db.ts';
import { waitUntil } from '../helpers/wait.ts';
import { loadConfig } from '../../services/config.ts';
import { createMetrics } from '../../services/metrics.ts';
import { createDispatcher } from '../../services/core/outbox-dispatcher.ts';
import type { DeliveryResult } from '../../services/core/delivery.ts';
import { backlog, claimDue, enqueue, enqueueMany, makeDueNow, recentOutbox, recordAttempts } from '../../services/store/outbox-store.ts';
import type { OutboxRow } from '../../services/store/outbox-store.ts';
import type { Db } from '../../services/store/db.ts';
import { createPgDb } from '../../services/store/pg-db.ts';

const config = loadConfig({ OUTBOX_MAX_ATTEMPTS: '3', OUTBOX_RETRY_BASE_MS: '10', OUTBOX_POLL_MS: '50' });
const log = pino({ level: 'silent' });

forEachDriver('outbox dispatcher', (get) => {
  it('delivers in order per target, records answers, retries with backoff, fails for good, keeps messages for absent targets', async () => {
    const db = get();
    const seen: string[] = [];
    const answers = new Map<string, DeliveryResult[]>([
      ['ok', [{ outcome: 'acked', response: { status: 'Accepted' } }]],
      ['no', [{ outcome: 'rejected', response: { status: 'Rejected' } }]],
      ['flaky', [{ outcome: 'retry', error: 'timeout' }, { outcome: 'acked' }]],
      ['dead', [{ outcome: 'retry', error: 'timeout' }]],
      ['away', [{ outcome: 'unavailable' }]],
    ]);
    const d = createDispatcher({ db, log, metrics: createMetrics(), config });
    d.register('ocpp', async (m: OutboxRow) => {
      seen.push(`${m.target}:${(m.payload as { n: number }).n}`);
      const list = answers.get(m.target)!;
      return list.length > 1 ? list.shift()! : list[0]!;
    });
    await db.tx(async (q) => {
      await enqueue(q, { channel: 'ocpp', target: 'ok', action: 'A', payload: { n: 1 } });
      await enqueue(q, { channel: 'ocpp', target: 'ok', action: 'A', payload: { n: 2 } });
      for (const t of ['no', 'flaky', 'dead', 'away']) await enqueue(q, { channel: 'ocpp', target: t, action: 'A', payload: { n: 1 } });
    });
    await d.runOnce();
    assert.deepEqual(seen.filter((s) => s.startsWith('ok:')), ['ok:1', 'ok:2']);
    for (let i = 0; i < 40 && (await backlog(db)).ocpp > 1; i++) {
      await new Promise((r) => setTimeout(r, 30));
      await d.runOnce();
    }
    const state = async (t: string) => (await recentOutbox(db, { target: t, limit: 5 })).map((m) => `${m.state}/${m.attempts}`);
    assert.deepEqual(await state('ok'), ['acked/1', 'acked/1']);
    assert.deepEqual(await state('no'), ['rejected/1']);
    assert.deepEqual(await state('flaky'), ['acked/2']);
    assert.deepEqual(await state('dead'), ['failed/3']);
    assert.deepEqual(await state('away'), ['pending/0'], 'an absent target is not charged attempts');
    const [no] = await recentOutbox(db, { target: 'no', limit: 1 });
    assert.deepEqual(no!.response, { status: 'Rejected' });

    // the absent target comes back: its message goes out at once
    answers.set('away', [{ outcome: 'acked' }]);
    await makeDueNow(db, 'away');
    await d.runOnce();
    assert.deepEqual(await state('away'), ['acked/1']);
    await d.stop();
  });

  it('supersedes an undelivered message by a newer one in the same slot', async () => {
    const db = get();
    await db.tx(async (q) => {
      await enqueue(q, { channel: 'mqtt', target: 'topic/x', action: 'publish', payload: { v: 1 }, dedupeKey: 'slot-x' });
      await enqueue(q, { channel: 'mqtt', target: 'topic/x', action: 'publish', payload: { v: 2 }, dedupeKey: 'slot-x' });
    });
    const delivered: unknown[] = [];
    const d = createDispatcher({ db, log, metrics: createMetrics(), config });
    d.register('mqtt', async (m) => {
      delivered.push(m.payload);
      return { outcome: 'acked' };
    });
    await d.runOnce();
    assert.deepEqual(delivered, [{ v: 2 }]);
    assert.deepEqual((await recentOutbox(db, { target: 'topic/x', limit: 5 })).map((m) => m.state), ['acked', 'superseded']);
    await d.stop();
  });

  it('enqueues a batch in order, superseding older undelivered messages and keeping the last of a key', async () => {
    const db = get();
    await enqueue(db, { channel: 'ocpp', target: 'batch-cs', action: 'SetChargingProfile', payload: { v: 0 }, dedupeKey: 'batch/max' });
    const n = await db.tx((q) =>
      enqueueMany(q, [
        { channel: 'ocpp', target: 'batch-cs', action: 'SetChargingProfile', payload: { v: 1 }, dedupeKey: 'batch/max', runId: 7 },
        { channel: 'ocpp', target: 'batch-cs', action: 'SetChargingProfile', payload: { v: 2 }, dedupeKey: 'batch/tx/1', runId: 7 },
        { channel: 'ocpp', target: 'batch-cs', action: 'SetChargingProfile', payload: { v: 3 }, dedupeKey: 'batch/max', runId: 7 },
        { channel: 'mqtt', target: 'batch/topic', action: 'publish', payload: { v: 4 } },
      ]),
    );
    assert.equal(n, 3);
    const rows = await recentOutbox(db, { target: 'batch-cs', limit: 10 });
    assert.deepEqual(rows.map((r) => [r.state, r.payload]).reverse(), [['superseded', { v: 0 }], ['pending', { v: 2 }], ['pending', { v: 3 }]]);
    const due = await claimDue(db, { target: 'batch-cs', limit: 10, staleMs: 60_000 });
    assert.deepEqual(due.map((r) => r.payload), [{ v: 2 }, { v: 3 }]);
    assert.equal(due[0]!.runId, 7);
  });

  it('claims messages of instance-bound channels only for the targets this instance holds', async () => {
    const db = get();
    await db.tx(async (q) => {
      await enqueue(q, { channel: 'ocpp', target: 'cs-here', action: 'A', payload: {} });
      await enqueue(q, { channel: 'ocpp', target: 'cs-elsewhere', action: 'A', payload: {} });
      await enqueue(q, { channel: 'mqtt', target: 'topic/local', action: 'publish', payload: {} });
    });
    const tried: string[] = [];
    const d = createDispatcher({ db, log, metrics: createMetrics(), config });
    d.register('ocpp', async (m) => (tried.push(m.target), { outcome: 'acked' }), { localTargets: () => ['cs-here'] });
    d.register('mqtt', async (m) => (tried.push(m.target), { outcome: 'acked' }));
    await d.runOnce();
    assert.ok(tried.includes('cs-here') && tried.includes('topic/local'), tried.join());
    assert.ok(!tried.includes('cs-elsewhere'), 'a station held by another instance is left to it');
    const [elsewhere] = await recentOutbox(db, { target: 'cs-elsewhere', limit: 1 });
    assert.equal(elsewhere!.state, 'pending');
    assert.equal(elsewhere!.attempts, 0);
    await d.stop();
  });

  it('survives a handler that throws: counted as a retry, never lost', async () => {
    const db = get();
    await enqueue(db, { channel: 'oscp', target: 'peer-throw', action: 'heartbeat', payload: {} });
    const d = createDispatcher({ db, log, metrics: createMetrics(), config });
    d.register('oscp', async () => {
      throw new Error('boom');
    });
    await d.runOnce();
    const [m] = await recentOutbox(db, { target: 'peer-throw', limit: 1 });
    assert.equal(m!.state, 'pending');
    assert.equal(m!.attempts, 1);
    assert.equal(m!.lastError, 'boom');
    await d.stop();
  });

  it('enqueueMany keeps each payload with its own row, in order, for a large batch', async () => {
    const db = get();
    const msgs = Array.from({ length: 600 }, (_, i) => ({
      channel: 'ocpp' as const, target: `many-${i % 7}`, action: 'SetChargingProfile',
      // varied shapes and sizes, strings with quotes and backslashes: nothing may shift or be re-quoted
      payload: { i, text: `"q\\${i}"`, list: Array.from({ length: i % 5 }, (_, k) => k) },
      dedupeKey: `many/${i}`,
    }));
    assert.equal(await db.tx((q) => enqueueMany(q, msgs)), 600);
    const rows = await db.query<{ target: string; payload: { i: number }; dedupe_key: string }>(`SELECT target, payload, dedupe_key FROM outbox WHERE target LIKE 'many-%' ORDER BY id`);
    assert.deepEqual(rows.map((r) => [r.target, r.payload, r.dedupe_key]), msgs.map((m) => [m.target, m.payload, m.dedupeKey]));
  });

  it('recordAttempts stores many outcomes in one statement, with the rules of recordAttempt per row', async () => {
    const db = get();
    const ids: number[] = [];
    for (const t of ['ra-ok', 'ra-no', 'ra-retry', 'ra-away', 'ra-super']) ids.push(await enqueue(db, { channel: 'oscp', target: t, action: 'A', payload: {}, dedupeKey: `ra/${t}` }));
    await claimDue(db, { channel: 'oscp', limit: 10, staleMs: 60_000 });
    // Superseded while in flight: the answer is recorded, the state stays superseded.
    await enqueue(db, { channel: 'oscp', target: 'ra-super', action: 'A', payload: { newer: true }, dedupeKey: 'ra/ra-super' });
    await recordAttempts(db, [
      { id: ids[0]!, outcome: { state: 'acked', response: { status: 'Accepted' }, countAttempt: true } },
      { id: ids[1]!, outcome: { state: 'rejected', response: { status: 'Rejected' }, error: 'station answered Rejected', countAttempt: true } },
      { id: ids[2]!, outcome: { state: 'pending', error: 'timeout', retryInMs: 3_600_000, countAttempt: true } },
      { id: ids[3]!, outcome: { state: 'pending', error: 'station not connected', retryInMs: 0, countAttempt: false } },
      { id: ids[4]!, outcome: { state: 'acked', response: { status: 'Accepted' }, countAttempt: true } },
    ]);
    const row = async (t: string) => (await recentOutbox(db, { target: t, limit: 2 })).at(-1)!;
    const ok = await row('ra-ok');
    assert.deepEqual([ok.state, ok.attempts, ok.response, ok.lastError], ['acked', 1, { status: 'Accepted' }, null]);
    const no = await row('ra-no');
    assert.deepEqual([no.state, no.attempts, no.response, no.lastError], ['rejected', 1, { status: 'Rejected' }, 'station answered Rejected']);
    const retry = await row('ra-retry');
    assert.deepEqual([retry.state, retry.attempts, retry.lastError], ['pending', 1, 'timeout']);
    const away = await row('ra-away');
    assert.deepEqual([away.state, away.attempts], ['pending', 0]);
    assert.equal((await row('ra-super')).state, 'superseded');
    // Due now: only the one without back-off (the retry waits an hour).
    assert.deepEqual((await claimDue(db, { channel: 'oscp', limit: 10, staleMs: 60_000 })).map((r) => r.target).sort(), ['ra-away', 'ra-super']);
    // An id given twice: its last outcome counts, once.
    await recordAttempts(db, [
      { id: ids[3]!, outcome: { state: 'pending', error: 'first', countAttempt: true } },
      { id: ids[3]!, outcome: { state: 'acked', response: { n: 2 }, countAttempt: true } },
    ]);
    const twice = await row('ra-away');
    assert.deepEqual([twice.state, twice.attempts, twice.response], ['acked', 1, { n: 2 }]);
    await recordAttempts(db, []);
  });

  it('group commit: answers of many targets are stored together, and a target’s next message waits until its answer is stored', async () => {
    const db = get();
    // Only this test's messages are due (earlier tests leave some pending).
    await db.query(`UPDATE outbox SET state = 'superseded' WHERE state IN ('pending','in_flight')`);
    const targets = Array.from({ length: 50 }, (_, i) => `gc-${i}`);
    await db.tx((q) => enqueueMany(q, targets.flatMap((t) => [1, 2].map((n) => ({ channel: 'mqtt' as const, target: t, action: 'publish', payload: { n } })))));
    const violations: string[] = [];
    let outcomeWrites = 0;
    const counted: Db = {
      kind: db.kind,
      query: <R extends object>(sql: string, params?: Parameters<Db['query']>[1]) => {
        if (/^UPDATE outbox (o )?SET state = CASE/.test(sql)) outcomeWrites++;
        return db.query<R>(sql, params);
      },
      tx: (fn) => db.tx(fn),
      exec: (sql) => db.exec(sql),
      listen: (channel, onNotify, events) => db.listen(channel, onNotify, events),
      close: () => db.close(),
    };
    const d = createDispatcher({ db: counted, log, metrics: createMetrics(), config });
    d.register('mqtt', async (m) => {
      if ((m.payload as { n: number }).n === 2) {
        // The first message of this target must be stored as acked before the second is handed over.
        const [first] = await db.query<{ state: string }>(`SELECT state FROM outbox WHERE target = $1 AND payload->>'n' = '1'`, [m.target]);
        if (first?.state !== 'acked') violations.push(`${m.target}: ${first?.state}`);
        await new Promise((r) => setTimeout(r, Math.random() * 5));
      }
      return { outcome: 'acked' };
    });
    await d.runOnce();
    assert.deepEqual(violations, []);
    // The 50 first answers arrive together and are stored by one statement; per row it would be 100.
    assert.ok(outcomeWrites <= 51, `${outcomeWrites} statements for 100 outcomes`);
    const states = await db.query<{ state: string; n: string }>(`SELECT state, count(*)::int AS n FROM outbox WHERE target LIKE 'gc-%' GROUP BY state`);
    assert.deepEqual(states.map((r) => [r.state, Number(r.n)]), [['acked', 100]]);
    await d.stop();
  });

  it('a slow target holds up neither other targets nor new claims, and its own later message never overtakes it', async () => {
    const db = get();
    await db.query(`UPDATE outbox SET state = 'superseded' WHERE state IN ('pending','in_flight')`);
    const seen: string[] = [];
    let release!: () => void;
    const slowAnswer = new Promise<void>((r) => (release = r));
    const d = createDispatcher({ db, log, metrics: createMetrics(), config });
    d.register('mqtt', async (m) => {
      const tag = `${m.target}:${(m.payload as { n: number }).n}`;
      seen.push(tag);
      if (tag === 'slow:1') await slowAnswer;
      return { outcome: 'acked' };
    });
    await enqueue(db, { channel: 'mqtt', target: 'slow', action: 'publish', payload: { n: 1 } });
    const run = d.runOnce();
    await waitUntil('slow:1 handed over', () => seen.includes('slow:1'));
    // Enqueued while slow:1 waits for its answer, then a kick (as the orchestrator does after an enqueue).
    await db.tx(async (q) => {
      await enqueue(q, { channel: 'mqtt', target: 'slow', action: 'publish', payload: { n: 2 } });
      await enqueue(q, { channel: 'mqtt', target: 'fast', action: 'publish', payload: { n: 1 } });
    });
    d.kick();
    await waitUntil('fast:1 delivered while slow:1 is still unanswered', async () => {
      const [fast] = await recentOutbox(db, { target: 'fast', limit: 1 });
      return fast?.state === 'acked';
    });
    assert.ok(!seen.includes('slow:2'), 'slow:2 must wait for slow:1');
    release();
    await run;
    await d.runOnce();
    assert.deepEqual(seen.filter((x) => x.startsWith('slow:')), ['slow:1', 'slow:2']);
    assert.deepEqual((await recentOutbox(db, { target: 'slow', limit: 2 })).map((m) => m.state), ['acked', 'acked']);
    await d.stop();
  });

  it('a failed batch write marks nothing: the rows stay in flight (claimed again once stale), later answers are stored', async () => {
    const db = get();
    await db.query(`UPDATE outbox SET state = 'superseded' WHERE state IN ('pending','in_flight')`);
    let failNext = true;
    const flaky: Db = {
      kind: db.kind,
      query: <R extends object>(sql: string, params?: Parameters<Db['query']>[1]) => {
        if (failNext && /^UPDATE outbox o SET/.test(sql)) {
          failNext = false;
          return Promise.reject(new Error('connection lost (test)'));
        }
        return db.query<R>(sql, params);
      },
      tx: (fn) => db.tx(fn),
      exec: (sql) => db.exec(sql),
      listen: (channel, onNotify, events) => db.listen(channel, onNotify, events),
      close: () => db.close(),
    };
    await db.tx((q) => enqueueMany(q, ['wf-1', 'wf-2', 'wf-3'].map((target) => ({ channel: 'mqtt' as const, target, action: 'publish', payload: {} }))));
    const d = createDispatcher({ db: flaky, log, metrics: createMetrics(), config });
    d.register('mqtt', async () => ({ outcome: 'acked' }));
    await d.runOnce();
    const states = async () => (await db.query<{ state: string }>(`SELECT state FROM outbox WHERE target LIKE 'wf-%' ORDER BY id`)).map((r) => r.state);
    assert.deepEqual(await states(), ['in_flight', 'in_flight', 'in_flight'], 'the answers were lost with the write: never marked acked');
    await enqueue(db, { channel: 'mqtt', target: 'wf-4', action: 'publish', payload: {} });
    await d.runOnce();
    assert.deepEqual(await states(), ['in_flight', 'in_flight', 'in_flight', 'acked']);
    await d.stop();
  });

  // --- Stalls seen under load (10 000 stations): each test below stalled with the previous dispatcher. ---

  /** The real database, with a hook in front of every statement the dispatcher sends outside a transaction. */
  function hooked(db: Db, before: (sql: string) => Promise<void> | void): Db {
    return {
      kind: db.kind,
      query: async <R extends object>(sql: string, params?: Parameters<Db['query']>[1]) => {
        await before(sql);
        return db.query<R>(sql, params);
      },
      tx: (fn) => db.tx(fn),
      exec: (sql) => db.exec(sql),
      listen: (channel, onNotify, events) => db.listen(channel, onNotify, events),
      close: () => db.close(),
    };
  }
  const isClaim = (sql: string) => /^UPDATE outbox SET state = 'in_flight'/.test(sql);
  const stateOf = async (db: Db, target: string) => (await recentOutbox(db, { target, limit: 10 })).map((m) => m.state).reverse();

  it('a target that never answers holds no window slot for ever, and rows that come due without a kick are still claimed', async () => {
    const db = get();
    await db.query(`UPDATE outbox SET state = 'superseded' WHERE state IN ('pending','in_flight')`);
    // Watchdog 2 × 100 ms; rows go stale (claimable again) only after 10.2 s, far beyond this test.
    const fast = loadConfig({ OUTBOX_MAX_ATTEMPTS: '3', OUTBOX_RETRY_BASE_MS: '10', OUTBOX_POLL_MS: '50', OCPP_CALL_TIMEOUT_MS: '100' });
    const seen: string[] = [];
    const d = createDispatcher({ db, log, metrics: createMetrics(), config: fast, window: 2 });
    d.register('mqtt', (m) => {
      seen.push(`${m.target}:${(m.payload as { n: number }).n}`);
      // A peer that takes the message and never answers, and a channel without a time-out of its own.
      return m.target === 'mute' ? new Promise<DeliveryResult>(() => undefined) : Promise.resolve({ outcome: 'acked' as const });
    });
    // Two messages of the silent target fill the whole window (2).
    await db.tx((q) => enqueueMany(q, [1, 2].map((n) => ({ channel: 'mqtt' as const, target: 'mute', action: 'publish', payload: { n } }))));
    d.start();
    try {
      await waitUntil('mute:1 handed over', () => seen.includes('mute:1'));
      // Enqueued without a kick (as a retry's backoff running out, or a failsafe profile at boot).
      await enqueue(db, { channel: 'mqtt', target: 'talk', action: 'publish', payload: { n: 1 } });
      await waitUntil('talk:1 delivered although mute never answers', async () => (await stateOf(db, 'talk'))[0] === 'acked', 5_000);
      // mute:1's outcome is unknown: it stays in flight (claimed again once stale) and mute:2, claimed
      // with it, was never sent ahead of it; a later message of mute does not overtake it either.
      await enqueue(db, { channel: 'mqtt', target: 'mute', action: 'publish', payload: { n: 3 } });
      await enqueue(db, { channel: 'mqtt', target: 'talk', action: 'publish', payload: { n: 2 } });
      await waitUntil('talk:2 delivered', async () => (await stateOf(db, 'talk'))[1] === 'acked', 5_000);
      assert.deepEqual(seen.filter((x) => x.startsWith('mute:')), ['mute:1']);
      assert.deepEqual(await stateOf(db, 'mute'), ['in_flight', 'in_flight', 'pending']);
    } finally {
      await d.stop();
    }
  });

  it('a kick that arrives while a pass finishes is not lost', async () => {
    const db = get();
    await db.query(`UPDATE outbox SET state = 'superseded' WHERE state IN ('pending','in_flight')`);
    const seen: string[] = [];
    let kickedLate = false;
    // The pass's last statement (the backlog count, after its last claim found nothing) is where an
    // enqueue + kick lands: the pass is still running, but its claim loop is over.
    const db2 = hooked(db, async (sql) => {
      if (!kickedLate && /^SELECT channel, count/.test(sql)) {
        kickedLate = true;
        await enqueue(db, { channel: 'mqtt', target: 'late', action: 'publish', payload: { n: 1 } });
        d.kick();
      }
    });
    const d = createDispatcher({ db: db2, log, metrics: createMetrics(), config });
    d.register('mqtt', async (m) => {
      seen.push(m.target);
      return { outcome: 'acked' };
    });
    await enqueue(db, { channel: 'mqtt', target: 'early', action: 'publish', payload: { n: 1 } });
    // No timer (start() not called): only the kick can bring 'late' out.
    await d.runOnce();
    assert.ok(kickedLate);
    assert.deepEqual(seen, ['early', 'late']);
    assert.deepEqual(await stateOf(db, 'late'), ['acked']);
    await d.stop();
  });

  it('resumes by itself after transient database errors, also while a slow target is in flight', async () => {
    const db = get();
    await db.query(`UPDATE outbox SET state = 'superseded' WHERE state IN ('pending','in_flight')`);
    let failing = false;
    let failures = 0;
    const db2 = hooked(db, (sql) => {
      if (failing && isClaim(sql)) {
        failures++;
        throw new Error('connection terminated unexpectedly (test)');
      }
    });
    let release!: () => void;
    const slowAnswer = new Promise<void>((r) => (release = r));
    const d = createDispatcher({ db: db2, log, metrics: createMetrics(), config });
    d.register('mqtt', async (m) => {
      if (m.target === 'laggard') await slowAnswer;
      return { outcome: 'acked' };
    });
    d.start();
    try {
      // 1. Every claim fails for a while, nothing in flight: the poll timer keeps trying.
      failing = true;
      await enqueue(db, { channel: 'mqtt', target: 'e1', action: 'publish', payload: {} });
      d.kick();
      await waitUntil('three failed claims', () => failures >= 3);
      failing = false;
      await waitUntil('e1 delivered after the database is back', async () => (await stateOf(db, 'e1'))[0] === 'acked', 5_000);

      // 2. The same while a slow target's delivery is in flight: the pass must not wait for it.
      await enqueue(db, { channel: 'mqtt', target: 'laggard', action: 'publish', payload: {} });
      d.kick();
      await waitUntil('laggard in flight', async () => (await stateOf(db, 'laggard'))[0] === 'in_flight');
      failures = 0;
      failing = true;
      await enqueue(db, { channel: 'mqtt', target: 'e2', action: 'publish', payload: {} });
      d.kick();
      await waitUntil('three failed claims', () => failures >= 3);
      failing = false;
      await waitUntil('e2 delivered while laggard is unanswered', async () => (await stateOf(db, 'e2'))[0] === 'acked', 5_000);
      assert.deepEqual(await stateOf(db, 'laggard'), ['in_flight']);
    } finally {
      release();
      await d.stop();
    }
    assert.deepEqual(await stateOf(db, 'laggard'), ['acked']);
  });
});

describe('outbox dispatcher on a tiny PostgreSQL pool shared with other traffic', function () {
  // The suspicion after the stalled 10 000-station runs: the dispatcher's statements starved or
  // deadlocked in the shared pool. It sends only single statements (claim, outcome batch, backlog) and
  // holds no connection while it waits for a channel or for the outcome writer, so one connection is
  // enough; here it shares two with a steady stream of short transactions.
  let t: TestDb | undefined;
  let small: Db | undefined;
  before(async function () {
    if (!(await pgAvailable())) this.skip();
    t = await freshPgDb();
    small = createPgDb(t.url!, 2);
  });
  after(async () => {
    await small?.close();
    await t?.drop();
  });

  it('delivers every message while other transactions keep both connections busy', async () => {
    const db = small!;
    const targets = Array.from({ length: 300 }, (_, i) => `pool-${i}`);
    await db.tx((q) => enqueueMany(q, targets.flatMap((target) => [1, 2].map((n) => ({ channel: 'mqtt' as const, target, action: 'publish', payload: { n } })))));
    let traffic = true;
    const station = async () => {
      while (traffic) {
        await db.tx(async (q) => {
          await q.query(`SELECT count(*) FROM outbox WHERE target = $1`, ['pool-0']);
          await new Promise((r) => setTimeout(r, 2));
          await q.query(`SELECT pg_sleep(0.001)`);
        });
      }
    };
    const load = Array.from({ length: 8 }, station);
    const d = createDispatcher({ db, log, metrics: createMetrics(), config });
    d.register('mqtt', async () => {
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      return { outcome: 'acked' };
    });
    d.start();
    try {
      await waitUntil('all 600 acked', async () => Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE state = 'acked'`))[0]!.n) === 600, 30_000, 200);
    } finally {
      traffic = false;
      await Promise.all(load);
      await d.stop();
    }
  });
});
