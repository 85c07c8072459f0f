import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../services/config.ts';
import { startGridflex, type Gridflex } from '../../services/main.ts';
import { freshPgDb, pgAvailable, type TestDb } from '../helpers/db.ts';

const ADMIN = 'sharing-class-token-0123456789abcdef';

/** The CPO sharing class through the topology import of the admin API (docs/admin-api.md). */
describe('topology import: CPO sharing class over HTTP', function () {
  this.timeout(60_000);
  let g: Gridflex;
  let pg: TestDb | undefined;
  let dir: string | undefined;
  const call = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${g.url}${p}`, { method, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN}` }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  before(async () => {
    const env: Record<string, string> = { PORT: '0', HOST: '127.0.0.1', GRIDFLEX_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'silent', MQTT_EMBEDDED_PORT: '0', SHARING_POLICY: 'priority' };
    if (await pgAvailable()) env.DATABASE_URL = (pg = await freshPgDb()).url!;
    else env.GRIDFLEX_DATA_DIR = dir = await mkdtemp(path.join(tmpdir(), 'gridflex-sharing-'));
    g = await startGridflex(loadConfig(env));
  });
  after(async () => {
    await g?.stop();
    await pg?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stores a CPO\'s class and returns it', async () => {
    const r = await call('PUT', '/api/v1/topology', {
      nodes: [
        { id: 'ga-c', kind: 'grid_area', parentId: null, importLimitKw: 50 },
        { id: 'cpo-1', kind: 'cpo', parentId: 'ga-c', importLimitKw: 30, sharingClass: 2 },
        { id: 'cpo-2', kind: 'cpo', parentId: 'ga-c' },
      ],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const nodes = (await call('GET', '/api/v1/topology?gridArea=ga-c')).body.nodes as { id: string; sharingClass: number | null }[];
    assert.deepEqual(nodes.map((n) => [n.id, n.sharingClass]), [['cpo-1', 2], ['cpo-2', null], ['ga-c', null]]);
  });

  it('refuses a class on a node that is not a CPO (422) or one that is not an integer (400), storing nothing', async () => {
    const notCpo = await call('PUT', '/api/v1/topology', { nodes: [{ id: 'st-x', kind: 'station', parentId: 'cpo-1', sharingClass: 1 }] });
    assert.equal(notCpo.status, 422);
    assert.match(notCpo.type, /application\/problem\+json/);
    assert.match(String(notCpo.body.detail), /only a CPO node has a sharing class/);
    const fractional = await call('PUT', '/api/v1/topology', { nodes: [{ id: 'cpo-3', kind: 'cpo', parentId: 'ga-c', sharingClass: 1.5 }] });
    assert.equal(fractional.status, 400);
    assert.match(fractional.type, /application\/problem\+json/);
    const ids = ((await call('GET', '/api/v1/topology?gridArea=ga-c')).body.nodes as { id: string }[]).map((n) => n.id);
    assert.deepEqual(ids, ['cpo-1', 'cpo-2', 'ga-c']);
  });
});
