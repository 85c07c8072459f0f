import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../services/config.ts';
import { startGridflex, type Gridflex } from '../../services/main.ts';
import { freshPgDb, pgAvailable, type TestDb } from '../helpers/db.ts';

const ADMIN = 'admin-api-token-0123456789abcdef';

describe('admin API over HTTP', function () {
  this.timeout(60_000);
  let g: Gridflex;
  let pg: TestDb | undefined;
  let dir: string | undefined;
  const call = async (method: string, p: string, body?: unknown, token: string | null = ADMIN, raw?: string) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(`${g.url}${p}`, { method, headers, ...(raw !== undefined ? { body: raw } : body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  before(async () => {
    const env: Record<string, string> = { PORT: '0', HOST: '127.0.0.1', GRIDFLEX_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'silent', MQTT_EMBEDDED_PORT: '0', MAX_BODY_BYTES: '4096' };
    if (await pgAvailable()) env.DATABASE_URL = (pg = await freshPgDb()).url!;
    else env.GRIDFLEX_DATA_DIR = dir = await mkdtemp(path.join(tmpdir(), 'gridflex-api-'));
    g = await startGridflex(loadConfig(env));
  });
  after(async () => {
    await g?.stop();
    await pg?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('requires the bearer token on every route of the OpenAPI document', async () => {
    const doc = (await call('GET', '/api/v1/openapi.json', undefined, null)).body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.equal(doc.openapi, '3.1.0');
    const paths = Object.entries(doc.paths);
    assert.ok(paths.length >= 10);
    for (const [p, ops] of paths) {
      for (const method of Object.keys(ops)) {
        const url = p.replace(/\{[^}]+\}/g, 'x');
        const r = await call(method.toUpperCase(), url, method === 'get' ? undefined : {}, null);
        assert.equal(r.status, 401, `${method} ${p}`);
        assert.match(r.type, /application\/problem\+json/);
        assert.equal(r.body.status, 401);
        assert.match(String(r.body.instance), /^urn:gridflex:request:/);
      }
    }
  });

  it('answers problem+json for malformed, invalid, unknown and oversized input, and stores nothing', async () => {
    assert.equal((await call('PUT', '/api/v1/topology', undefined, ADMIN, '{"nodes": [')).status, 400);
    const invalid = await call('PUT', '/api/v1/topology', { nodes: [{ id: 'a b', kind: 'planet', parentId: null }] });
    assert.equal(invalid.status, 400);
    assert.ok(Array.isArray(invalid.body.errors));
    const structural = await call('PUT', '/api/v1/topology', { nodes: [{ id: 'ga', kind: 'grid_area', parentId: null }, { id: 'e', kind: 'evse', parentId: 'ga' }] });
    assert.equal(structural.status, 422);
    assert.equal((await call('GET', '/api/v1/nodes/ga')).status, 404, 'nothing of a refused import is stored');
    const big = await call('PUT', '/api/v1/topology', { nodes: Array.from({ length: 200 }, (_, i) => ({ id: `n${i}`, kind: 'grid_area', parentId: null })) });
    assert.equal(big.status, 413);
    assert.equal((await call('GET', '/api/v1/grid-areas/nope/allocation')).status, 404);
    assert.equal((await call('GET', '/api/v1/no-such-route')).status, 404);
    assert.equal((await call('POST', '/api/v1/stations/nope/password', {})).status, 404);
  });

  it('imports a topology, sets a station password and re-allocates on demand', async () => {
    const r = await call('PUT', '/api/v1/topology', {
      nodes: [
        { id: 'ga1', kind: 'grid_area', parentId: null, importLimitKw: 50 },
        { id: 'cs1', kind: 'station', parentId: 'ga1' },
        { id: 'cs1-1', kind: 'evse', parentId: 'cs1', maxPowerKw: 11, ocppEvseId: 1 },
      ],
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.gridAreas, ['ga1']);
    const pw = await call('POST', '/api/v1/stations/cs1/password', {});
    assert.equal(pw.status, 201);
    assert.equal(String(pw.body.password).length, 32);
    assert.equal((await call('POST', '/api/v1/stations/cs1/password', { password: 'short' })).status, 400);
    const run = await call('POST', '/api/v1/grid-areas/ga1/reallocate');
    assert.equal(run.status, 200);
    assert.equal(run.body.verified, true);
    const alloc = await call('GET', '/api/v1/grid-areas/ga1/allocation');
    const setpoints = alloc.body.setpoints as { evseId: string; points: { capKw: number }[] }[];
    assert.equal(setpoints[0]!.evseId, 'cs1-1');
    assert.ok(setpoints[0]!.points.every((p) => p.capKw <= 11));
    assert.equal((await call('GET', '/api/v1/grid-areas')).status, 200);
    assert.equal((await call('DELETE', '/api/v1/nodes/cs1')).status, 204);
    assert.equal((await call('GET', '/api/v1/nodes/cs1-1')).status, 404);
  });

  it('serves health, readiness and metrics', async () => {
    assert.equal((await call('GET', '/healthz', undefined, null)).status, 200);
    const ready = await call('GET', '/readyz', undefined, null);
    assert.equal(ready.status, 200);
    const m = await fetch(`${g.url}/metrics`);
    const text = await m.text();
    for (const name of ['gridflex_http_requests_total', 'gridflex_ocpp_connections', 'gridflex_solve_seconds', 'gridflex_outbox_backlog']) assert.match(text, new RegExp(name));
  });
});
