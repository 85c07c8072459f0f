import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../services/config.ts';
import { adminAuth } from '../../services/http/admin-auth.ts';
import { createHttpApp } from '../../services/http/app.ts';
import { createLogger } from '../../services/log.ts';
import { createMetrics } from '../../services/metrics.ts';
import { OPENADR_VTN_BASE_PATH, createOpenadrVtn, openadrAdminRoutes, openadrEnvelopeSource } from '../../services/openadr/index.ts';
import { upsertNodes } from '../../services/store/topology-store.ts';
import { forEachDriver } from '../helpers/db.ts';
import { TEST_TOKEN_SECRET } from '../helpers/openadr-http.ts';

const ADMIN = 'test-admin-token-0123456789abcdef';
const H = 3_600_000;

/** The VTN and its admin routes mounted in the real HTTP app, as the composition root does. */
forEachDriver('OpenADR admin API and VTN in the gridflex HTTP app', (get) => {
  let server: Server;
  let url = '';
  const changed: string[] = [];

  before(async () => {
    const db = get();
    await db.tx((q) => upsertNodes(q, [{ id: 'ga9', kind: 'grid_area', parentId: null }, { id: 'cp9', kind: 'connection_point', parentId: 'ga9' }]));
    const config = loadConfig({ NODE_ENV: 'test', OPENADR_TOKEN_SECRET: TEST_TOKEN_SECRET });
    const log = createLogger('silent');
    const metrics = createMetrics();
    const vtn = createOpenadrVtn({ db, log, metrics, config, onSignalsChanged: (a) => changed.push(a) });
    const { app } = createHttpApp({
      log, metrics, db, maxBodyBytes: 64 * 1024,
      protocolRouters: [{ path: OPENADR_VTN_BASE_PATH, router: vtn.router }],
      adminApi: (api) => openadrAdminRoutes(api, { db, auth: adminAuth(ADMIN), onSignalsChanged: (a) => changed.push(a) }),
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${url}/api/v1${path}`, { method, headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const vtnCall = (token: string, method: string, path: string, body?: unknown) =>
    fetch(`${url}${OPENADR_VTN_BASE_PATH}${path}`, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

  it('creates clients (secret shown once), opts a node out of an event and back in, revokes clients', async () => {
    const created = await admin('POST', '/openadr/clients', { name: 'Aggregator', role: 'bl' });
    assert.equal(created.status, 201);
    const c = (await created.json()) as { clientId: string; clientSecret: string; scopes: string[] };
    assert.ok(c.scopes.includes('write_events'));
    const list = (await (await admin('GET', '/openadr/clients')).json()) as { clients: Record<string, unknown>[] };
    assert.equal(list.clients.length, 1);
    assert.equal(JSON.stringify(list).includes(c.clientSecret), false, 'the secret is not listed');
    assert.equal((await admin('POST', '/openadr/clients', { name: 'x', role: 'ven', scopes: ['fly'] })).status, 400);

    const tok = await fetch(`${url}${OPENADR_VTN_BASE_PATH}/auth/token`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret }).toString(),
    });
    const token = String(((await tok.json()) as { access_token: string }).access_token);
    const p = (await (await vtnCall(token, 'POST', '/programs', { programName: 'DSO-9', attributes: [{ type: 'GRIDFLEX_NODE', values: ['cp9'] }] })).json()) as { id: string };
    const t0 = Math.floor(Date.now() / H) * H + H;
    const e = await vtnCall(token, 'POST', '/events', { programID: p.id, intervalPeriod: { start: new Date(t0).toISOString(), duration: 'PT1H' }, intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [11] }] }] });
    assert.equal(e.status, 201);
    const ev = (await e.json()) as { id: string };
    const h = { startMs: t0, intervalMinutes: 15, count: 2 };
    assert.deepEqual((await openadrEnvelopeSource(get(), ['cp9'], h))[0]!.importKw, [11, 11]);

    changed.length = 0;
    assert.equal((await admin('POST', '/openadr/opt-outs', { eventId: ev.id, nodeId: 'cp9' })).status, 201);
    assert.deepEqual(changed, ['ga9']);
    assert.deepEqual(await openadrEnvelopeSource(get(), ['cp9'], h), []);
    assert.equal((await admin('DELETE', `/openadr/opt-outs/${ev.id}/cp9`)).status, 204);
    assert.deepEqual((await openadrEnvelopeSource(get(), ['cp9'], h))[0]!.importKw, [11, 11]);
    assert.equal((await admin('POST', '/openadr/opt-outs', { eventId: ev.id, nodeId: 'nowhere' })).status, 404);

    assert.equal((await admin('DELETE', `/openadr/clients/${c.clientId}`)).status, 204);
    assert.equal((await vtnCall(token, 'GET', '/programs')).status, 401);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /gridflex_openadr_requests_total\{operation="POST \/programs",status="201"\} 1/);
    const audit = await get().query<{ action: string }>(`SELECT action FROM audit_log WHERE action LIKE 'openadr.%' ORDER BY id`);
    assert.deepEqual(audit.map((a) => a.action), ['openadr.client.create', 'openadr.opt_out', 'openadr.opt_out.cancel', 'openadr.client.revoke']);
  });
});
