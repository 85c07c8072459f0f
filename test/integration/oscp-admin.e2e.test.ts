import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminAuth } from '../../services/http/admin-auth.ts';
import { createHttpApp } from '../../services/http/app.ts';
import { createLogger } from '../../services/log.ts';
import { createMetrics } from '../../services/metrics.ts';
import { createOscpPeer, getOscpPeer, listOscpCpoGroups, oscpAdminRoutes } from '../../services/oscp/index.ts';
import { upsertNodes } from '../../services/store/topology-store.ts';
import { forEachDriver } from '../helpers/db.ts';
import { assertOscpValid } from '../helpers/oscp-schemas.ts';

const TOKEN = 'admin-token-for-oscp-tests';

forEachDriver('OSCP admin routes (registration started by gridflex, CPO groups)', (get) => {
  let server: Server;
  let base = '';
  const api = async (method: string, path: string, body?: unknown, token = TOKEN) => {
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };

  before(async () => {
    const db = get();
    const { app } = createHttpApp({
      log: createLogger('silent'),
      metrics: createMetrics(),
      db,
      maxBodyBytes: 65536,
      protocolRouters: [],
      adminApi: (a) => oscpAdminRoutes(a, { db, auth: adminAuth(TOKEN), publicBaseUrl: () => 'https://gridflex.example' }),
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await db.tx((q) => upsertNodes(q, [{ id: 'ga', kind: 'grid_area', parentId: null }, { id: 'cpoX', kind: 'cpo', parentId: 'ga' }]));
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it('starts a registration toward a CPO: our Register, with our CP endpoints, is queued', async () => {
    const db = get();
    const { peerId } = await createOscpPeer(db, { name: 'CPO X', role: 'flexibility_provider' });
    const res = await api('POST', `/oscp/peers/${peerId}/register`, { baseUrl: 'https://cpo.example/oscp/fp/2.0/', registrationToken: 'their-one-time-token' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const peer = await getOscpPeer(db, peerId);
    assert.equal(peer?.awaitingRegisterBack, true);
    assert.equal(peer?.baseUrl, 'https://cpo.example/oscp/fp/2.0');
    const [row] = await db.query<{ payload: { token: string; version_url: unknown } }>(`SELECT payload FROM outbox WHERE target = $1 AND action = 'register'`, [peerId]);
    assertOscpValid('register', row?.payload);
    assert.deepEqual(row?.payload.version_url, [{ version: '2.0', base_url: 'https://gridflex.example/oscp/cp/2.0' }]);
    assert.equal((await api('POST', `/oscp/peers/${peerId}/register`, { baseUrl: 'ftp://x', registrationToken: 't' })).status, 400);
    assert.equal((await api('POST', '/oscp/peers/nope/register', { baseUrl: 'https://x', registrationToken: 't' })).status, 404);
    assert.equal((await api('POST', `/oscp/peers/${peerId}/register`, { baseUrl: 'https://x', registrationToken: 't' }, 'wrong-token-wrong-token')).status, 401);
  });

  it('maps, lists and removes CPO groups; only for CPO peers and existing nodes', async () => {
    const db = get();
    const { peerId } = await createOscpPeer(db, { name: 'CPO Y', role: 'flexibility_provider' });
    const { peerId: dso } = await createOscpPeer(db, { name: 'DSO', role: 'capacity_provider' });
    assert.equal((await api('PUT', `/oscp/cpo-groups/${peerId}/y-all`, { nodeId: 'cpoX' })).status, 200);
    assert.equal((await api('PUT', `/oscp/cpo-groups/${dso}/y-all`, { nodeId: 'cpoX' })).status, 404, 'a DSO gets no shares');
    assert.equal((await api('PUT', `/oscp/cpo-groups/${peerId}/y-all`, { nodeId: 'nope' })).status, 404);
    assert.deepEqual(await listOscpCpoGroups(db, peerId), [{ peerId, groupId: 'y-all', nodeId: 'cpoX' }]);
    assert.deepEqual((await api('GET', '/oscp/cpo-groups')).body, { groups: [{ peerId, groupId: 'y-all', nodeId: 'cpoX' }] });
    assert.equal((await api('DELETE', `/oscp/cpo-groups/${peerId}/y-all`)).status, 204);
    assert.equal((await api('DELETE', `/oscp/cpo-groups/${peerId}/y-all`)).status, 404);
  });
});
