import assert from 'node:assert/strict';
import pino from 'pino';
import { forEachDriver } from '../helpers/db.ts';
import { loadConfig } from '../../services/config.ts';
import { createMetrics } from '../../services/metrics.ts';
import { createDispatcher } from '../../services/core/outbox-dispatcher.ts';
import type { DeliveryResult } from '../../services/core/delivery.ts';
import { backlog, claimDue, enqueue, enqueueMany, makeDueNow, recentOutbox } from '../../services/store/outbox-store.ts';
import type { OutboxRow } from '../../services/store/outbox-store.ts';

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
});
