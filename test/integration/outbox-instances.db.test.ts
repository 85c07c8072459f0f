/**
 * Several gridflex instances on one PostgreSQL (docs/operations.md, "Several instances"): wake-ups
 * across instances by LISTEN/NOTIFY, the listener's reconnect, the station owner token
 * (station_state.connected_instance, migration 017), and the pool's time-outs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { RPCClient } from 'ocpp-rpc';
import { loadConfig } from '../../services/config.ts';
import { createDispatcher, type Dispatcher } from '../../services/core/outbox-dispatcher.ts';
import { createMetrics } from '../../services/metrics.ts';
import { setStationPassword } from '../../services/ocpp/station-credentials.ts';
import { getStationState, markConnected, markDisconnected } from '../../services/ocpp/station-store.ts';
import type { Db } from '../../services/store/db.ts';
import { enqueue, OUTBOX_NOTIFY_CHANNEL, recentOutbox, type OutboxRow } from '../../services/store/outbox-store.ts';
import { createPgDb } from '../../services/store/pg-db.ts';
import { upsertNodes } from '../../services/store/topology-store.ts';
import { forEachDriver, freshPgDb, pgAvailable, type TestDb } from '../helpers/db.ts';
import { CS201, PASSWORD_201, ocppTopology } from '../helpers/ocpp-builders.ts';
import { startTestCsms, type TestCsms } from '../helpers/ocpp-csms.ts';
import { connectStation } from '../helpers/ocpp-station.ts';
import { waitUntil } from '../helpers/wait.ts';

// Polling every minute: within a test, only a notification can wake a dispatcher.
const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', OUTBOX_POLL_MS: '60000' });
const silent = pino({ level: 'silent' });
/** Well under the 60 s poll: a delivery within this came from a notification. */
const WAKE_MS = 10_000;

const stations = (ids: string[]) => [
  { id: 'ga-inst', kind: 'grid_area' as const, parentId: null, importLimitKw: 100 },
  ...ids.map((id) => ({ id, kind: 'station' as const, parentId: 'ga-inst' })),
];

/** Records the pino lines of one instance (to see what it logs about its listener). */
function capturingLog(): { log: pino.Logger; lines: { msg: string; level: number }[] } {
  const lines: { msg: string; level: number }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as { msg: string; level: number });
      cb();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

/** One instance's dispatcher with a recording OCPP handler for the stations it holds. */
function instance(db: Db, owner: string, holds: string[], log: pino.Logger = silent) {
  const delivered: OutboxRow[] = [];
  const d = createDispatcher({ db, log, metrics: createMetrics(), config });
  d.register('ocpp', async (m) => (delivered.push(m), { outcome: 'acked' }), { localTargets: () => holds, owner });
  return { d, delivered };
}

describe('outbox across instances [postgresql]', function () {
  this.timeout(60_000);
  let t: TestDb;
  let dbA: Db;
  let dbB: Db;
  const running: Dispatcher[] = [];

  before(async function () {
    if (!(await pgAvailable())) this.skip();
    t = await freshPgDb();
    await t.db.tx((q) => upsertNodes(q, stations(['cs-on-a', 'cs-on-b', 'cs-burst'])));
    await markConnected(t.db, 'cs-on-a', '2.0.1', 'inst-A');
    await markConnected(t.db, 'cs-on-b', '2.0.1', 'inst-B');
    await markConnected(t.db, 'cs-burst', '2.0.1', 'inst-B');
    dbA = createPgDb(t.url!, 3);
    dbB = createPgDb(t.url!, 3);
  });
  afterEach(async () => {
    for (const d of running.splice(0)) await d.stop();
  });
  after(async () => {
    await dbA?.close();
    await dbB?.close();
    await t?.drop();
  });

  const listenerPids = async () =>
    (await t.db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'gridflex-listen' ORDER BY pid`)).map((r) => r.pid);

  it('a message enqueued by instance A for a station held by B is delivered by B at once, not at its next poll', async () => {
    const a = instance(dbA, 'inst-A', ['cs-on-a']);
    const b = instance(dbB, 'inst-B', ['cs-on-b']);
    running.push(a.d, b.d);
    a.d.start();
    b.d.start();
    await waitUntil('both dispatchers listening', () => a.d.isListening() && b.d.isListening());
    assert.equal((await listenerPids()).length, 2, 'one dedicated listening connection per instance');
    // let the start-up passes finish: from here on, nothing but a notification wakes B for a minute
    await Promise.all([a.d.runOnce(), b.d.runOnce()]);

    await dbA.tx((q) => enqueue(q, { channel: 'ocpp', target: 'cs-on-b', action: 'SetChargingProfile', payload: { n: 1 } }));
    await waitUntil('B delivers the message A enqueued', () => b.delivered.length === 1, WAKE_MS);
    assert.equal(a.delivered.length, 0, 'A does not deliver to a station held by B');
    await waitUntil('the outcome stored', async () => (await recentOutbox(t.db, { target: 'cs-on-b', limit: 1 }))[0]?.state === 'acked', WAKE_MS);

    // the other way round: B enqueues, A delivers
    await dbB.tx((q) => enqueue(q, { channel: 'ocpp', target: 'cs-on-a', action: 'SetChargingProfile', payload: { n: 2 } }));
    await waitUntil('A delivers the message B enqueued', () => a.delivered.length === 1, WAKE_MS);
    assert.deepEqual(a.delivered[0]!.payload, { n: 2 });
  });

  it('a rolled-back enqueue wakes nobody and leaves nothing to deliver', async () => {
    const b = instance(dbB, 'inst-B', ['cs-on-b']);
    running.push(b.d);
    let woken = 0;
    const unlisten = await dbB.listen(OUTBOX_NOTIFY_CHANNEL, () => woken++);
    try {
      await assert.rejects(
        dbA.tx(async (q) => {
          await enqueue(q, { channel: 'ocpp', target: 'cs-on-b', action: 'SetChargingProfile', payload: { n: 'rolled back' } });
          throw new Error('abort (test)');
        }),
        /abort/,
      );
      // a committed one afterwards: its notification arrives, the rolled-back one's never did
      await enqueue(dbA, { channel: 'mqtt', target: 'topic/after', action: 'publish', payload: {} });
      await waitUntil('the committed enqueue notified', () => woken === 1, WAKE_MS);
      assert.equal(woken, 1);
      assert.equal((await recentOutbox(t.db, { target: 'cs-on-b', limit: 10 })).filter((r) => r.state === 'pending').length, 0);
    } finally {
      await unlisten();
    }
  });

  it('the listener reconnects after its connection is terminated (logged), and wakes the instance again', async () => {
    const { log, lines } = capturingLog();
    const a = instance(dbA, 'inst-A', ['cs-on-a']);
    const b = instance(dbB, 'inst-B', ['cs-on-b'], log);
    running.push(a.d, b.d);
    a.d.start();
    b.d.start();
    await waitUntil('both dispatchers listening', () => a.d.isListening() && b.d.isListening());
    const before = await listenerPids();
    assert.equal(before.length, 2);
    await t.db.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [before]);
    await waitUntil('the loss is logged', () => lines.some((l) => l.msg.startsWith('outbox LISTEN connection lost')), WAKE_MS);
    await waitUntil('new listening connections', async () => {
      const now = await listenerPids();
      return now.length === 2 && now.every((p) => !before.includes(p)) && b.d.isListening();
    }, WAKE_MS);
    await b.d.runOnce();
    const n = b.delivered.length;

    await dbA.tx((q) => enqueue(q, { channel: 'ocpp', target: 'cs-on-b', action: 'SetChargingProfile', payload: { n: 'after reconnect' } }));
    await waitUntil('B woken through the new connection', () => b.delivered.length === n + 1, WAKE_MS);
    assert.deepEqual(b.delivered.at(-1)!.payload, { n: 'after reconnect' });
  });

  it('a burst of 10 000 notifications costs a handful of claims, not 10 000', async function () {
    if (!psqlWorks(t.url!)) this.skip();
    let claims = 0;
    const counting: Db = {
      ...dbB,
      kind: dbB.kind,
      query: (sql, params) => {
        if (sql.includes(`SET state = 'in_flight'`)) claims++;
        return dbB.query(sql, params);
      },
      tx: (fn) => dbB.tx(fn),
      exec: (sql) => dbB.exec(sql),
      listen: (channel, onNotify, events) => dbB.listen(channel, onNotify, events),
      close: () => dbB.close(),
    };
    const b = instance(counting, 'inst-B', ['cs-burst']);
    running.push(b.d);
    b.d.start();
    await waitUntil('B listening', () => b.d.isListening());
    await b.d.runOnce();
    claims = 0;
    // 10 000 committed enqueues' worth of notifications, each its own transaction (PostgreSQL folds
    // identical ones only within a transaction), sent by another process while this one is blocked
    // in execFileSync: they all reach B before it can run a single pass.
    const script = Array.from({ length: 10_000 }, () => `SELECT pg_notify('${OUTBOX_NOTIFY_CHANNEL}', 'ocpp');`).join('\n');
    execFileSync('psql', ['-q', '-X', '-v', 'ON_ERROR_STOP=1', t.url!], { input: script, stdio: ['pipe', 'ignore', 'inherit'] });
    // and one real message, enqueued after the burst: it is delivered
    await enqueue(dbA, { channel: 'ocpp', target: 'cs-burst', action: 'SetChargingProfile', payload: { n: 'after burst' } });
    await waitUntil('the message after the burst delivered', () => b.delivered.length === 1, WAKE_MS);
    await b.d.runOnce();
    assert.ok(claims >= 1 && claims < 100, `claims after 10 000 notifications: ${claims}`);
  });
});

function psqlWorks(url: string): boolean {
  try {
    execFileSync('psql', ['-q', '-X', '-c', 'SELECT 1', url], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

forEachDriver('station owner token', (get) => {
  before(async () => {
    await get().tx((q) => upsertNodes(q, stations(['cs-moved'])));
  });

  it('a late disconnect from the old instance keeps the new owner, and the old instance claims nothing for it', async () => {
    const db = get();
    await markConnected(db, 'cs-moved', '2.0.1', 'inst-old');
    // the station reconnects to another instance while the old one still holds a half-dead socket
    await markConnected(db, 'cs-moved', '2.0.1', 'inst-new');
    await enqueue(db, { channel: 'ocpp', target: 'cs-moved', action: 'SetChargingProfile', payload: { n: 1 } });

    // both believe they hold the station (in-memory local targets); only the owner claims
    const old = instance(db, 'inst-old', ['cs-moved']);
    assert.equal(await old.d.runOnce(), 0);
    assert.equal(old.delivered.length, 0, 'the old instance does not claim the station’s rows');
    assert.equal((await recentOutbox(db, { target: 'cs-moved', limit: 1 }))[0]!.state, 'pending');

    // the old socket finally closes: its disconnect must not clear the new owner
    assert.equal(await markDisconnected(db, 'cs-moved', 'inst-old'), false);
    const state = await getStationState(db, 'cs-moved');
    assert.equal(state!.connected, true);
    const [row] = await db.query<{ connected_instance: string | null }>(`SELECT connected_instance FROM station_state WHERE station_id = 'cs-moved'`);
    assert.equal(row!.connected_instance, 'inst-new');

    const owner = instance(db, 'inst-new', ['cs-moved']);
    assert.equal(await owner.d.runOnce(), 1);
    assert.deepEqual(owner.delivered.map((m) => m.payload), [{ n: 1 }]);

    // the owner's own disconnect does clear it
    assert.equal(await markDisconnected(db, 'cs-moved', 'inst-new'), true);
    assert.equal((await getStationState(db, 'cs-moved'))!.connected, false);
    await old.d.stop();
    await owner.d.stop();
  });

  it('a single instance listens in-process and is woken by its own enqueues', async () => {
    const db = get();
    await markConnected(db, 'cs-moved', '2.0.1', 'inst-solo');
    const solo = instance(db, 'inst-solo', ['cs-moved']);
    solo.d.start();
    try {
      await waitUntil('listening', () => solo.d.isListening());
      await solo.d.runOnce();
      await db.tx((q) => enqueue(q, { channel: 'ocpp', target: 'cs-moved', action: 'SetChargingProfile', payload: { n: 'solo' } }));
      await waitUntil('delivered after the notification', () => solo.delivered.some((m) => (m.payload as { n: string }).n === 'solo'), WAKE_MS);
    } finally {
      await solo.d.stop();
    }
  });
});

/** Real CSMS instances and a real station: the half-dead-socket case end to end. */
describe('OCPP station moving between instances [postgresql]', function () {
  this.timeout(60_000);
  let t: TestDb;
  let dbA: Db;
  let dbB: Db;
  let csmsA: TestCsms | undefined;
  let csmsB: TestCsms | undefined;
  const clients: RPCClient[] = [];
  const dispatchers: Dispatcher[] = [];

  before(async function () {
    if (!(await pgAvailable())) this.skip();
    t = await freshPgDb();
    await t.db.tx((q) => upsertNodes(q, ocppTopology()));
    await setStationPassword(t.db, CS201, PASSWORD_201);
    dbA = createPgDb(t.url!, 3);
    dbB = createPgDb(t.url!, 3);
  });
  after(async () => {
    for (const d of dispatchers) await d.stop();
    for (const c of clients) await c.close({ force: true }).catch(() => undefined);
    await csmsA?.close();
    await csmsB?.close();
    await dbA?.close();
    await dbB?.close();
    await t?.drop();
  });

  it('only the instance the station reconnected to sends to it; the old one’s late disconnect keeps the new owner', async () => {
    csmsA = await startTestCsms(dbA, { OUTBOX_POLL_MS: '60000' });
    csmsB = await startTestCsms(dbB, { OUTBOX_POLL_MS: '60000' });
    for (const [db, c] of [[dbA, csmsA], [dbB, csmsB]] as const) {
      const d = createDispatcher({ db, log: silent, metrics: createMetrics(), config: c.config });
      d.register('ocpp', c.csms.channel, { localTargets: () => c.csms.connectedStations().map((s) => s.stationId), owner: c.csms.instanceId });
      d.start();
      dispatchers.push(d);
    }
    const owner = async () => (await t.db.query<{ connected_instance: string | null }>('SELECT connected_instance FROM station_state WHERE station_id = $1', [CS201]))[0]?.connected_instance;
    const got: string[] = [];
    const station = async (endpoint: string, name: string) => {
      const c = await connectStation({ endpoint, identity: CS201, password: PASSWORD_201, version: '2.0.1' });
      c.handle('ClearCache', async () => (got.push(name), { status: 'Accepted' }));
      clients.push(c);
      return c;
    };
    const onA = await station(csmsA.endpoint, 'A');
    await waitUntil('A owns the station', async () => (await owner()) === csmsA!.csms.instanceId);
    // the station reconnects to B; A never noticed the old connection die (it is still open to A)
    await station(csmsB.endpoint, 'B');
    await waitUntil('B owns the station', async () => (await owner()) === csmsB!.csms.instanceId);
    assert.ok(csmsA.csms.isConnected(CS201) && csmsB.csms.isConnected(CS201), 'both instances believe they hold it');
    await waitUntil('both dispatchers listening', () => dispatchers.every((d) => d.isListening()));

    // A's planner enqueues; B is woken by the notification and sends; A sends nothing
    await dbA.tx((q) => enqueue(q, { channel: 'ocpp', target: CS201, action: 'ClearCache', payload: {} }));
    await waitUntil('delivered', async () => (await recentOutbox(t.db, { target: CS201, limit: 1 }))[0]?.state === 'acked', WAKE_MS);
    assert.deepEqual(got, ['B']);

    // the old socket closes at last: A's disconnect bookkeeping (awaited by close()) leaves B's ownership
    await onA.close({ code: 1000 });
    await waitUntil('A saw the close', () => !csmsA!.csms.isConnected(CS201));
    await csmsA.close();
    csmsA = undefined;
    assert.equal(await owner(), csmsB.csms.instanceId);
    assert.equal((await getStationState(t.db, CS201))!.connected, true);
  });
});

describe('PostgreSQL pool time-outs [postgresql]', function () {
  this.timeout(30_000);
  let t: TestDb;
  let blackhole: Server | undefined;
  const held: Socket[] = [];
  before(async function () {
    if (!(await pgAvailable())) this.skip();
    t = await freshPgDb();
  });
  after(async () => {
    for (const s of held) s.destroy();
    await new Promise<void>((r) => (blackhole ? blackhole.close(() => r()) : r()));
    await t?.drop();
  });

  it('a statement beyond DATABASE_STATEMENT_TIMEOUT_MS is cancelled by the server with a clear error', async () => {
    const db = createPgDb(t.url!, { maxConnections: 2, statementTimeoutMs: 1000 });
    try {
      await assert.rejects(db.query('SELECT pg_sleep(5)'), (err: Error & { code?: string }) => {
        assert.equal(err.code, '57014');
        assert.match(err.message, /statement timeout/);
        return true;
      });
      // the connection is still usable, and shorter statements are unaffected
      assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
      // exempt waits (migrations, a grid area's lock) lift it for their transaction only; TO DEFAULT restores it
      const shown = await db.tx(async (q) => {
        await q.query('SET LOCAL statement_timeout = 0');
        await q.query('SELECT pg_sleep(1.2)');
        await q.query('SET LOCAL statement_timeout TO DEFAULT');
        return (await q.query<{ statement_timeout: string }>('SHOW statement_timeout'))[0]!.statement_timeout;
      });
      assert.equal(shown, '1s');
    } finally {
      await db.close();
    }
  });

  it('gives up waiting for a connection after DATABASE_CONNECT_TIMEOUT_MS: a server that never answers, a full pool', async () => {
    blackhole = createServer((s) => held.push(s)); // accepts TCP, never speaks PostgreSQL
    await new Promise<void>((r) => blackhole!.listen(0, '127.0.0.1', r));
    const { port } = blackhole.address() as AddressInfo;
    const dead = createPgDb(`postgres://postgres@127.0.0.1:${port}/none`, { connectTimeoutMs: 300 });
    try {
      await assert.rejects(dead.query('SELECT 1'), /timeout/i);
    } finally {
      await dead.close();
    }

    const one = createPgDb(t.url!, { maxConnections: 1, connectTimeoutMs: 300 });
    try {
      const holding = one.tx((q) => q.query('SELECT pg_sleep(1.5)'));
      await assert.rejects(one.query('SELECT 1'), /timeout/i);
      await holding;
      assert.deepEqual(await one.query('SELECT 1 AS one'), [{ one: 1 }]);
    } finally {
      await one.close();
    }
  });
});
