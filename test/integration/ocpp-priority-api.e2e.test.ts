/**
 * POST /api/v1/stations/:id/transactions/:txId/priority-charging (OCPP 2.1 UsePriorityCharging, K21.FR.10)
 * against the whole gridflex process: admin auth, problem+json errors, the request travelling through the
 * outbox to an independent strict 2.1 station over a real socket, and the station's answer recorded.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RPCClient } from 'ocpp-rpc';
import { loadConfig } from '../../services/config.ts';
import { startGridflex, type Gridflex } from '../../services/main.ts';
import { loadActiveDemands } from '../../services/ocpp/session-store.ts';
import { freshPgDb, pgAvailable, type TestDb } from '../helpers/db.ts';
import { aBootNotification201, aTransactionEvent201 } from '../helpers/ocpp-builders.ts';
import { connectStation, eventually } from '../helpers/ocpp-station.ts';

const ADMIN = 'priority-api-token-0123456789abcdef';
const AREA = 'ga-prio';
const S21 = 'PRIO-21';
const S201 = 'PRIO-201';
const PW = 'priority-station-pass-1';

type Obj = Record<string, unknown>;

describe('priority charging admin route (OCPP 2.1 UsePriorityCharging)', function () {
  this.timeout(60_000);
  let g: Gridflex;
  let pg: TestDb | undefined;
  let dir: string | undefined;
  const clients: RPCClient[] = [];
  const asked: Obj[] = [];
  let answer: (p: Obj) => Promise<Obj> = async () => ({ status: 'Accepted' });

  const call = async (method: string, p: string, body?: unknown, token: string | null = ADMIN) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(`${g.url}${p}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? (JSON.parse(text) as Obj) : {} };
  };
  const prio = (station: string, tx: string, body: unknown = { activate: true }, token?: string | null) =>
    call('POST', `/api/v1/stations/${encodeURIComponent(station)}/transactions/${encodeURIComponent(tx)}/priority-charging`, body, token);

  before(async () => {
    const env: Record<string, string> = {
      PORT: '0', HOST: '127.0.0.1', GRIDFLEX_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'silent', MQTT_EMBEDDED_PORT: '0',
      OCPP_CALL_TIMEOUT_MS: '800', OCPP_READ_CAPABILITIES: 'false', OCPP_COMPOSITE_READBACK: 'false',
    };
    if (await pgAvailable()) env.DATABASE_URL = (pg = await freshPgDb()).url!;
    else env.GRIDFLEX_DATA_DIR = dir = await mkdtemp(path.join(tmpdir(), 'gridflex-prio-'));
    g = await startGridflex(loadConfig(env));
    const station = (id: string) => [
      { id, kind: 'station', parentId: AREA, voltageV: 230, phases: 3 },
      { id: `${id}-1`, kind: 'evse', parentId: id, maxPowerKw: 22, ocppEvseId: 1 },
    ];
    assert.equal((await call('PUT', '/api/v1/topology', { nodes: [{ id: AREA, kind: 'grid_area', parentId: null, importLimitKw: 50 }, ...station(S21), ...station(S201)] })).status, 200);
    const endpoint = `${g.url.replace(/^http/, 'ws')}/ocpp`;
    for (const [id, version] of [[S21, '2.1'], [S201, '2.0.1']] as const) {
      assert.equal((await call('POST', `/api/v1/stations/${id}/password`, { password: PW })).status, 201);
      const c = await connectStation({ endpoint, identity: id, password: PW, version });
      clients.push(c);
      c.handle('SetChargingProfile', async () => ({ status: 'Accepted' }));
      if (version === '2.1') {
        c.handle('UsePriorityCharging', async ({ params }) => {
          asked.push(params as Obj);
          return answer(params as Obj);
        });
      }
      await c.call('BootNotification', aBootNotification201());
      await c.call('TransactionEvent', aTransactionEvent201('Started', { transactionInfo: { transactionId: `tx-${id}` } }));
    }
    await eventually(() => g.csms.isConnected(S21) && g.csms.isConnected(S201));
  });

  after(async () => {
    for (const c of clients) await c.close({ force: true }).catch(() => undefined);
    await g?.stop();
    await pg?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const priorityOf = async () => (await loadActiveDemands(g.db, AREA, Date.now(), { energyKwh: 30, hours: 8 })).find((d) => d.evseId === `${S21}-1`)?.priority;

  it('401 without the admin token, 404 for an unknown station or transaction, 409 for a station that is not OCPP 2.1, 400 for a bad body', async () => {
    const noToken = await prio(S21, `tx-${S21}`, { activate: true }, null);
    assert.equal(noToken.status, 401);
    assert.match(noToken.type, /application\/problem\+json/);
    const unknown = await prio('NO-SUCH-STATION', 'tx');
    assert.equal(unknown.status, 404);
    assert.match(unknown.type, /application\/problem\+json/);
    const v201 = await prio(S201, `tx-${S201}`);
    assert.equal(v201.status, 409);
    assert.match(String(v201.body.detail), /2\.1/);
    assert.equal((await prio(S21, 'tx-unknown')).status, 404);
    assert.equal((await prio(S21, `tx-${S21}`, { activate: 'yes' })).status, 400);
    assert.equal(asked.length, 0, 'nothing was sent to a station');
  });

  it('200 with the station’s Accepted answer: the session gets priority, recorded on the outbox row', async () => {
    const r = await prio(S21, `tx-${S21}`, { activate: true });
    assert.equal(r.status, 200);
    assert.equal(r.body.state, 'acked');
    assert.deepEqual(r.body.answer, { status: 'Accepted' });
    assert.equal(r.body.priority, true);
    assert.deepEqual(asked.at(-1), { transactionId: `tx-${S21}`, activate: true });
    assert.equal(await priorityOf(), true);
    const [row] = await g.db.query<{ state: string; response: unknown }>(`SELECT state, response FROM outbox WHERE id = $1`, [Number(r.body.outboxId)]);
    assert.deepEqual({ ...row }, { state: 'acked', response: { status: 'Accepted' } });
    const audits = await g.db.query<{ detail: { state: string; answer: unknown } }>(`SELECT detail FROM audit_log WHERE action = 'ocpp.UsePriorityChargingAnswered'`);
    assert.deepEqual(audits.map((a) => [a.detail.state, a.detail.answer]), [['acked', { status: 'Accepted' }]]);
  });

  it('200 with NoProfile: recorded, the session’s priority unchanged', async () => {
    answer = async () => ({ status: 'NoProfile' });
    const r = await prio(S21, `tx-${S21}`, { activate: false });
    assert.equal(r.status, 200);
    assert.equal(r.body.state, 'rejected');
    assert.deepEqual(r.body.answer, { status: 'NoProfile' });
    assert.equal(r.body.priority, undefined);
    assert.equal(await priorityOf(), true);
  });

  it('202 when the station does not answer in time: the request stays in the outbox (retried), nothing changes yet', async () => {
    // slower than the route waits (OCPP_CALL_TIMEOUT_MS + 1 s)
    answer = async () => {
      await new Promise((res) => setTimeout(res, 2_500));
      return { status: 'Accepted' };
    };
    const r = await prio(S21, `tx-${S21}`, { activate: false });
    assert.equal(r.status, 202);
    assert.equal(r.body.answer, undefined);
    assert.ok(['pending', 'in_flight'].includes(String(r.body.state)));
    assert.equal(await priorityOf(), true, 'no answer yet: nothing changed');
    const [row] = await g.db.query<{ action: string; payload: unknown }>(`SELECT action, payload FROM outbox WHERE id = $1`, [Number(r.body.outboxId)]);
    assert.deepEqual({ ...row }, { action: 'UsePriorityCharging', payload: { transactionId: `tx-${S21}`, activate: false } });
    answer = async () => ({ status: 'Accepted' });
  });
});
