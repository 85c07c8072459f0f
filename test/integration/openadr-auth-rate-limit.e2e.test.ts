import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createOpenadrClient } from '../../services/openadr/index.ts';
import { forEachDriver } from '../helpers/db.ts';
import { startVtn, type VtnUnderTest } from '../helpers/openadr-http.ts';
import { checkSpecs, responseErrors, schemaErrors } from '../helpers/openadr-spec.ts';

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: Record<string, unknown>;
}

/** One HTTP request from a chosen loopback source address (127.0.0.x), so tests can be two "IPs". */
function send(t: VtnUnderTest, from: string, method: string, path: string, o: { form?: Record<string, string>; token?: string } = {}): Promise<Answer> {
  const url = new URL(t.base + path);
  const body = o.form ? new URLSearchParams(o.form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname, port: url.port, path: url.pathname, method, localAddress: from,
        headers: { ...(body ? { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) } : {}), ...(o.token ? { Authorization: `Bearer ${o.token}` } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** 429 is not in the OpenAPI document (RFC 6585); its body must still be an OpenADR problem. */
function assertProblem429(a: Answer): void {
  assert.equal(a.status, 429);
  assert.ok(Number(a.retryAfter) > 0, `Retry-After: ${a.retryAfter}`);
  assert.equal(a.body.status, 429);
  assert.equal(a.body.title, 'Too Many Requests');
  if (checkSpecs('3.1.0')) assert.deepEqual(schemaErrors('3.1.0', 'problem', a.body), []);
}

forEachDriver('OpenADR VTN: failed authentication is rate limited per client id and per source IP', (get) => {
  let t: VtnUnderTest;
  let a: { clientId: string; clientSecret: string };
  let b: { clientId: string; clientSecret: string };
  const login = (from: string, c: { clientId: string; clientSecret: string }, secret = c.clientSecret) =>
    send(t, from, 'POST', '/auth/token', { form: { grant_type: 'client_credentials', client_id: c.clientId, client_secret: secret } });

  before(async () => {
    t = await startVtn(get(), { OPENADR_AUTH_FAIL_CLIENT_BURST: '3', OPENADR_AUTH_FAIL_CLIENT_PER_MIN: '1', OPENADR_AUTH_FAIL_IP_BURST: '6', OPENADR_AUTH_FAIL_IP_PER_MIN: '1' });
    a = await createOpenadrClient(get(), { name: 'BL A', role: 'bl' });
    b = await createOpenadrClient(get(), { name: 'VEN B', role: 'ven' });
  });
  after(async () => {
    await t?.close();
  });

  it("a client id's failures lock that id (429 + Retry-After), not another client's login", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await login('127.0.0.1', b, 'wrong-secret');
      assert.equal(r.status, 401);
      if (checkSpecs('3.1.0')) assert.deepEqual(responseErrors('3.1.0', 'POST', '/auth/token', r.status, r.body), []);
    }
    const locked = await login('127.0.0.1', b);
    assertProblem429(locked);
    assert.equal(locked.body.error, 'invalid_request');
    assert.equal((await login('127.0.0.1', a)).status, 200, 'A logs in while B is locked out');
    assert.equal((await login('127.0.0.1', a)).status, 200, 'successful logins take no tokens');
    t.clock.now += 60_000; // one token back for B
    assert.equal((await login('127.0.0.1', b)).status, 200);
  });

  it("an address's failures (bad logins and bad bearer tokens) lock that address, not others", async () => {
    t.clock.now += 3_600_000; // buckets full again
    for (let i = 0; i < 3; i++) assert.equal((await login('127.0.0.2', { clientId: `nobody-${i}`, clientSecret: 'x' })).status, 401);
    for (let i = 0; i < 3; i++) assert.equal((await send(t, '127.0.0.2', 'GET', '/programs', { token: 'forged.token.value' })).status, 401);
    assertProblem429(await send(t, '127.0.0.2', 'GET', '/programs', { token: 'forged.token.value' }));
    assertProblem429(await login('127.0.0.2', a));
    const fromOther = await login('127.0.0.1', a);
    assert.equal(fromOther.status, 200, 'another address is not affected');
    const programs = await send(t, '127.0.0.1', 'GET', '/programs', { token: String(fromOther.body.access_token) });
    assert.equal(programs.status, 200);
  });
});
