import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { loadConfig, type Config } from '../../services/config.ts';
import { createLogger } from '../../services/log.ts';
import { createMetrics } from '../../services/metrics.ts';
import { createOpenadrVtn, OPENADR_301_BASE_PATH, OPENADR_VTN_BASE_PATH, type OpenadrVtn } from '../../services/openadr/index.ts';
import type { Db } from '../../services/store/db.ts';
import { checkSpecs, documentedOperations, requestErrors, responseErrors, type OpenadrVersion } from './openadr-spec.ts';

/** Test-only token key (never a default in source). */
export const TEST_TOKEN_SECRET = 'test-only-openadr-token-secret-0123456789';

export interface VtnUnderTest {
  vtn: OpenadrVtn;
  base: string;
  /** The 3.0.1 base URL (same store). */
  base301: string;
  config: Config;
  clock: { now: number };
  signalsChanged: string[];
  /** Operations served in this run (method + path template), for the coverage check. */
  served: Set<string>;
  close(): Promise<void>;
}

export async function startVtn(db: Db, env: Record<string, string> = {}, onSignalsChanged?: (gridAreaId: string) => void): Promise<VtnUnderTest> {
  const config = loadConfig({ NODE_ENV: 'test', OPENADR_TOKEN_SECRET: TEST_TOKEN_SECRET, MAX_BODY_BYTES: String(64 * 1024), ...env });
  const clock = { now: Date.now() };
  const signalsChanged: string[] = [];
  const vtn = createOpenadrVtn({ db, log: createLogger('silent'), metrics: createMetrics(), config, onSignalsChanged: (a) => (signalsChanged.push(a), onSignalsChanged?.(a)), now: () => clock.now });
  const app = express();
  app.use(OPENADR_VTN_BASE_PATH, vtn.router);
  app.use(OPENADR_301_BASE_PATH, vtn.router301);
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const base = origin + OPENADR_VTN_BASE_PATH;
  return {
    vtn, base, base301: origin + OPENADR_301_BASE_PATH, config, clock, signalsChanged, served: new Set(),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const templates = new Map<OpenadrVersion, { method: string; path: string; re: RegExp }[]>();
function templateOf(method: string, path: string, version: OpenadrVersion = '3.1.0'): string | undefined {
  let list = templates.get(version);
  if (!list) templates.set(version, (list = documentedOperations(version).map((o) => ({ ...o, re: new RegExp('^' + o.path.replace(/\{[^}]+\}/g, '[^/]+') + '$') }))));
  // Literal paths first (/notifiers/mqtt/topics/programs before /programs/{id}).
  const matches = list.filter((t) => t.method === method && t.re.test(path));
  matches.sort((a, b) => (a.path.match(/\{/g)?.length ?? 0) - (b.path.match(/\{/g)?.length ?? 0));
  return matches[0]?.path;
}

export interface Answer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  query?: Record<string, string | string[] | number | boolean>;
  /** Skip the request-body check (for deliberately malformed requests). */
  invalidRequest?: boolean;
  rawBody?: string;
  contentType?: string;
  /** Talk to the 3.0.1 base path and check against the 3.0.1 document. */
  version?: OpenadrVersion;
}

/**
 * One call to the VTN over HTTP. The request body is checked against the document (unless marked
 * invalid on purpose), and every response, errors included, against the documented response of
 * that operation and status.
 */
export async function call<T = unknown>(t: VtnUnderTest, method: string, path: string, o: CallOptions = {}): Promise<Answer<T>> {
  const version = o.version ?? '3.1.0';
  const spec = checkSpecs(version);
  const template = spec ? templateOf(method, path, version) : undefined;
  if (spec) assert.ok(template, `${method} ${path} is not an operation of the OpenADR ${version} document`);
  if (spec && template && o.body !== undefined && !o.invalidRequest) {
    const errs = requestErrors(version, method, template, o.body);
    assert.deepEqual(errs, [], `request to ${method} ${path} is not valid per the document: ${errs.join('; ')}`);
  }
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(o.query ?? {})) for (const x of Array.isArray(v) ? v : [v]) qs.append(k, String(x));
  const url = `${version === '3.0.1' ? t.base301 : t.base}${path}${qs.size ? '?' + qs.toString() : ''}`;
  const headers: Record<string, string> = {};
  if (o.token) headers.Authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.rawBody !== undefined) body = o.rawBody;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined) headers['Content-Type'] = o.contentType ?? 'application/json';
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  const parsed = text ? (JSON.parse(text) as T) : (undefined as T);
  if (spec && template) {
    t.served.add(`${version === '3.0.1' ? '3.0.1 ' : ''}${method} ${template}`);
    const errs = responseErrors(version, method, template, res.status, parsed);
    assert.deepEqual(errs, [], `response ${res.status} of ${method} ${path} is not valid per the document: ${errs.join('; ')}\n${text}`);
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** POST /auth/token (form encoded, as the document says) and return the access token. */
export async function fetchToken(t: VtnUnderTest, clientId: string, clientSecret: string, scope?: string): Promise<Answer<Record<string, unknown>>> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, ...(scope ? { scope } : {}) });
  if (checkSpecs('3.1.0')) {
    const errs = requestErrors('3.1.0', 'POST', '/auth/token', Object.fromEntries(form), 'application/x-www-form-urlencoded');
    assert.deepEqual(errs, []);
  }
  const res = await fetch(`${t.base}/auth/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString() });
  const body = (await res.json()) as Record<string, unknown>;
  if (checkSpecs('3.1.0')) {
    t.served.add('POST /auth/token');
    const errs = responseErrors('3.1.0', 'POST', '/auth/token', res.status, body);
    assert.deepEqual(errs, [], `token response ${res.status}: ${errs.join('; ')}`);
  }
  return { status: res.status, body, headers: res.headers };
}

/**
 * A fetch for clients under test (the gridflex VEN): every JSON request to the VTN and every answer
 * is checked against the document, like call() does. `down()` makes it fail as if the VTN were away.
 */
export function validatingFetch(t: VtnUnderTest): { fetch: typeof fetch; down(v: boolean): void; calls: string[] } {
  let isDown = false;
  const calls: string[] = [];
  const f: typeof fetch = async (input, init) => {
    if (isDown) throw new TypeError('fetch failed (VTN down in test)');
    const url = new URL(String(input));
    const method = (init?.method ?? 'GET').toUpperCase();
    const path = url.pathname.slice(new URL(t.base).pathname.length);
    calls.push(`${method} ${path}`);
    const spec = checkSpecs('3.1.0');
    const template = spec ? templateOf(method, path) : undefined;
    if (spec) assert.ok(template, `${method} ${path} is not an operation of the OpenADR 3.1.0 document`);
    const ct = new Headers(init?.headers).get('content-type') ?? '';
    if (template && typeof init?.body === 'string' && ct.startsWith('application/json')) {
      const errs = requestErrors('3.1.0', method, template, JSON.parse(init.body));
      assert.deepEqual(errs, [], `VEN request ${method} ${path} is not valid per the document: ${errs.join('; ')}`);
    }
    const res = await fetch(input, init);
    const text = await res.clone().text();
    if (template) {
      t.served.add(`${method} ${template}`);
      const errs = responseErrors('3.1.0', method, template, res.status, text ? JSON.parse(text) : undefined);
      assert.deepEqual(errs, [], `response ${res.status} of ${method} ${path}: ${errs.join('; ')}`);
    }
    return res;
  };
  return { fetch: f, down: (v) => (isDown = v), calls };
}
