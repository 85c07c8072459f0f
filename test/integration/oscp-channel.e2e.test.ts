import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createLogger } from '../../services/log.ts';
import { createMetrics } from '../../services/metrics.ts';
import { createOscpChannel, createOscpPeer, enqueueHeartbeats, heartbeatsDue, outboxRequestId } from '../../services/oscp/index.ts';
import { hashToken, newToken, storeRegistration, storeRequiredBehaviour } from '../../services/oscp/peer-store.ts';
import type { Db } from '../../services/store/db.ts';
import { claimDue, enqueue, recentOutbox, type OutboxRow } from '../../services/store/outbox-store.ts';
import { forEachDriver } from '../helpers/db.ts';
import { FakeDso } from '../helpers/oscp-dso.ts';
import { assertOscpValid } from '../helpers/oscp-schemas.ts';

const HEARTBEAT = { offline_mode_at: '2026-11-23T12:00:00.000Z' };

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

forEachDriver('OSCP outbound channel', (get) => {
  const log = createLogger('silent');
  const metrics = createMetrics();
  const dso = new FakeDso();
  const channel = () => createOscpChannel({ db: get(), log, metrics, config: { OSCP_HEARTBEAT_INTERVAL_S: 120 }, timeoutMs: 2000 });

  /** A registered peer whose base_url is `baseUrl`. */
  async function registeredPeer(db: Db, baseUrl: string): Promise<string> {
    const { peerId } = await createOscpPeer(db, { name: 'DSO', role: 'capacity_provider' });
    await storeRegistration(db, peerId, { outboundToken: 'to-dso', baseUrl, version: '2.0', inboundTokenHash: hashToken(newToken()) });
    return peerId;
  }

  async function queued(db: Db, target: string, action: string, payload: unknown): Promise<OutboxRow> {
    const id = await enqueue(db, { channel: 'oscp', target, action, payload });
    const rows = await claimDue(db, { channel: 'oscp', target, limit: 10, staleMs: 3_600_000 });
    const row = rows.find((r) => r.id === id);
    assert.ok(row);
    return row;
  }

  before(() => dso.start());
  after(() => dso.stop());
  beforeEach(() => dso.answers.clear());

  it('POSTs the payload to <base_url>/<action> with the peer’s token and a stable X-Request-ID', async () => {
    const db = get();
    const peer = await registeredPeer(db, dso.baseUrl);
    const row = await queued(db, peer, 'heartbeat', HEARTBEAT);
    dso.answers.set('heartbeat', { status: 503 });
    const first = await channel()(row);
    assert.equal(first.outcome, 'retry');
    dso.answers.set('heartbeat', { status: 204 });
    const second = await channel()(row);
    assert.equal(second.outcome, 'acked');
    const calls = dso.calls('heartbeat').slice(-2);
    assert.equal(calls.length, 2);
    for (const c of calls) {
      assert.equal(c.headers.authorization, 'Token to-dso');
      assert.equal(c.headers['content-type'], 'application/json');
      assert.equal(c.headers['x-request-id'], outboxRequestId(row));
      assertOscpValid('heartbeat', c.body);
      assert.deepEqual(c.body, HEARTBEAT);
    }
  });

  it('4xx → rejected with the peer’s answer recorded; 408/429 and 5xx → retry', async () => {
    const db = get();
    const peer = await registeredPeer(db, dso.baseUrl);
    const row = await queued(db, peer, 'heartbeat', HEARTBEAT);
    dso.answers.set('heartbeat', { status: 400, body: '{"message":"offline_mode_at in the past"}' });
    const r = await channel()(row);
    assert.equal(r.outcome, 'rejected');
    assert.deepEqual(r.outcome === 'rejected' ? r.response : undefined, { status: 400, correlationId: null, body: '{"message":"offline_mode_at in the past"}' });
    for (const status of [408, 429, 500, 502]) {
      dso.answers.set('heartbeat', { status });
      assert.equal((await channel()(row)).outcome, 'retry', String(status));
    }
    dso.answers.set('heartbeat', { status: 302 });
    assert.equal((await channel()(row)).outcome, 'rejected', 'redirects are not followed with our token');
  });

  it('a network error → retry; a peer without base_url or token → unavailable; unknown peer or bad payload → rejected', async () => {
    const db = get();
    const down = await registeredPeer(db, `http://127.0.0.1:${await deadPort()}/oscp/cp/2.0`);
    assert.equal((await channel()(await queued(db, down, 'heartbeat', HEARTBEAT))).outcome, 'retry');
    const { peerId: pending } = await createOscpPeer(db, { name: 'not yet registered', role: 'capacity_provider' });
    assert.equal((await channel()(await queued(db, pending, 'heartbeat', HEARTBEAT))).outcome, 'unavailable');
    assert.equal((await channel()(await queued(db, 'no-such-peer', 'heartbeat', HEARTBEAT))).outcome, 'rejected');
    const ok = await registeredPeer(db, dso.baseUrl);
    assert.equal((await channel()(await queued(db, ok, 'heartbeat', { offline_mode_at: 'soon' }))).outcome, 'rejected');
    assert.equal((await channel()(await queued(db, ok, 'adjust_everything', {}))).outcome, 'rejected');
  });

  it('after our Register is accepted, wipes its token from the outbox and queues our Handshake; a rejected Register is wiped too', async () => {
    const db = get();
    const peer = await registeredPeer(db, dso.baseUrl);
    const reg = { token: newToken(), version_url: [{ version: '2.0', base_url: 'http://gridflex.test/oscp/fp/2.0' }] };
    const row = await queued(db, peer, 'register', reg);
    assert.equal((await channel()(row)).outcome, 'acked');
    const rows = await recentOutbox(db, { target: peer, limit: 10 });
    assert.deepEqual((rows.find((r) => r.id === row.id)?.payload as { token: string }).token, 'redacted:acked');
    const hs = rows.find((r) => r.action === 'handshake');
    assert.deepEqual(hs?.payload, { required_behaviour: { heartbeat_interval: 120, measurement_configuration: [] } });
    // claimed again after a crash before bookkeeping: the known outcome, nothing sent twice
    const sent = dso.calls('register').length;
    assert.equal((await channel()({ ...row, payload: { ...reg, token: 'redacted:acked' } })).outcome, 'acked');
    assert.equal(dso.calls('register').length, sent);

    const other = await registeredPeer(db, dso.baseUrl);
    dso.answers.set('register', { status: 401, body: '{"message":"unknown token"}' });
    const rejected = await queued(db, other, 'register', { ...reg, token: newToken() });
    assert.equal((await channel()(rejected)).outcome, 'rejected');
    const after = await recentOutbox(db, { target: other, limit: 10 });
    assert.deepEqual((after.find((r) => r.id === rejected.id)?.payload as { token: string }).token, 'redacted:rejected');
    assert.equal(after.filter((r) => r.action === 'handshake').length, 0);
  });

  it('queues one heartbeat per interval even when several schedulers run at once, superseding an undelivered one', async () => {
    const db = get();
    const peer = await registeredPeer(db, dso.baseUrl);
    await storeRequiredBehaviour(db, peer, { heartbeatIntervalS: 30, measurementConfiguration: [] }, 'handshake_done');
    const now = Date.UTC(2030, 0, 1, 12, 0);
    const queuedNow = await Promise.all([1, 2, 3, 4].map(() => enqueueHeartbeats(db, now)));
    assert.equal(queuedNow.reduce((a, b) => a + b, 0), 1);
    assert.deepEqual(await heartbeatsDue(db, now + 29_000), []);
    assert.equal(await enqueueHeartbeats(db, now + 30_000), 1);
    const rows = (await recentOutbox(db, { target: peer, limit: 10 })).filter((r) => r.action === 'heartbeat');
    assert.deepEqual(rows.map((r) => [r.state, r.payload]), [
      ['pending', { offline_mode_at: new Date(now + 90_000).toISOString() }],
      ['superseded', { offline_mode_at: new Date(now + 60_000).toISOString() }],
    ]);
    // a peer that asked for no heartbeats gets none
    const quiet = await registeredPeer(db, dso.baseUrl);
    await storeRequiredBehaviour(db, quiet, { heartbeatIntervalS: null, measurementConfiguration: [] }, 'handshake_done');
    assert.ok(!(await heartbeatsDue(db, now + 3_600_000)).some((d) => d.peerId === quiet));
  });
});
