import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { parseDuration } from '../../grid-adapters/openadr3/index.ts';
import { BadRequest, NotFound } from '../http/errors.ts';
import { problemHandler } from '../http/problem.ts';
import type { Logger } from '../log.ts';
import type { Db } from '../store/db.ts';
import type { TokenIssuer } from './auth.ts';

/**
 * OpenADR 3.0.1 on the same store as 3.1.0 (mount at /openadr/3.0.1). 3.0.1 is not backward
 * compatible with 3.1.0; this router translates each 3.0.1 request into the 3.1.0 one, lets the 3.1.0
 * VTN handle it (auth, scopes, visibility, notifications, signals are the same code), and translates
 * the answer back:
 * - targets: 3.0.1 valuesMap `{type, values}` ↔ 3.1.0 strings. A GROUP value `g` is the string `g`;
 *   any other type T gives `T:value` (so nothing is lost either way); `targetType`/`targetValues`
 *   query parameters become `targets`.
 * - `/vens/{venID}/resources[/{resourceID}]` ↔ `/resources[/{resourceID}]` with venID.
 * - vens and resources: a VEN client's body becomes VEN_VEN_REQUEST / VEN_RESOURCE_REQUEST; a BL
 *   client's becomes BL_*_REQUEST with clientID = the body's clientID if given, else (vens) the
 *   venName — 3.0.1 has no clientID, the venName is then the VEN's client id provisioned out of band —
 *   and (resources) the client of the ven.
 * - 3.0.1's intervalPeriod requires `start`: where a 3.1.0 object has none, '0001-01-01T00:00:00Z'
 *   is written (on an interval: "follows the previous one", User Guide 7.3).
 * - Scopes: 3.0.1 reads need `read_all`; VEN clients (read_targets / read_ven_objects) are let through
 *   with their own 3.1.0 visibility.
 * - Program fields 3.1.0 dropped: those with a program attribute in 3.1.0 (Definitions, Program
 *   Attributes Enumerations: PROGRAM_LONG_NAME, RETAILER_NAME, …, LOCAL) are stored as that attribute
 *   and served back as the field; timeZoneOffset, which has none, is kept in openadr_program.body_301
 *   and served only at /openadr/3.0.1. Other attributes (e.g. GRIDFLEX_NODE) pass through as
 *   `attributes` (3.0.1 allows additional properties), so a 3.0.1 program can be bound to the grid.
 */
export const OPENADR_301_BASE_PATH = '/openadr/3.0.1';

const TARGET_TYPES = ['POWER_SERVICE_LOCATION', 'SERVICE_AREA', 'GROUP', 'RESOURCE_NAME', 'VEN_NAME', 'EVENT_NAME', 'PROGRAM_NAME'];
const PREFIXED = new RegExp(`^(${TARGET_TYPES.filter((t) => t !== 'GROUP').join('|')}):(.+)$`);

type Json = Record<string, unknown>;

export function targetsFrom301(v: unknown): string[] | null | undefined {
  if (v === null || v === undefined) return v;
  if (!Array.isArray(v)) return v as never;
  const out: string[] = [];
  for (const m of v as { type?: unknown; values?: unknown }[]) {
    const type = String(m?.type ?? 'GROUP');
    for (const x of Array.isArray(m?.values) ? m.values : []) out.push(type === 'GROUP' ? String(x) : `${type}:${String(x)}`);
  }
  return out;
}

export function targetsTo301(v: unknown): { type: string; values: string[] }[] | null {
  if (!Array.isArray(v) || v.length === 0) return null;
  const byType = new Map<string, string[]>();
  for (const s of v as string[]) {
    const m = PREFIXED.exec(s);
    const [type, value] = m ? [m[1]!, m[2]!] : ['GROUP', s];
    byType.set(type, [...(byType.get(type) ?? []), value]);
  }
  return [...byType.entries()].map(([type, values]) => ({ type, values }));
}

/** 3.0.1 program field ↔ 3.1.0 program attribute (Definitions, Program Attributes Enumerations). */
export const PROGRAM_ATTRIBUTES_301: readonly (readonly [field: string, attribute: string])[] = [
  ['programLongName', 'PROGRAM_LONG_NAME'],
  ['retailerName', 'RETAILER_NAME'],
  ['retailerLongName', 'RETAILER_LONG_NAME'],
  ['programType', 'PROGRAM_TYPE'],
  ['country', 'COUNTRY'],
  ['principalSubdivision', 'PRINCIPAL_SUBDIVISION'],
  ['bindingEvents', 'BINDING_EVENTS'],
  ['localPrice', 'LOCAL'],
];
/** 3.0.1 program fields without a 3.1.0 counterpart: kept in openadr_program.body_301. */
export const PROGRAM_ONLY_301 = ['timeZoneOffset'] as const;

/** A 3.0.1 program body as the 3.1.0 request (mapped fields → attributes) and the 3.0.1-only fields. */
export function programFrom301(body: Json): { body: Json; only301: Json } {
  const out: Json = { ...body };
  const set = new Map<string, unknown>();
  for (const [field, attribute] of PROGRAM_ATTRIBUTES_301) {
    if (!(field in out)) continue;
    const v = out[field];
    delete out[field];
    if (v === null || v === undefined) continue;
    const boolean = attribute === 'BINDING_EVENTS' || attribute === 'LOCAL';
    if (boolean ? typeof v !== 'boolean' : typeof v !== 'string' || v.length === 0 || v.length > 128) {
      throw new BadRequest(`${field} must be ${boolean ? 'a boolean' : 'a string of 1 to 128 characters'}`);
    }
    set.set(attribute, v);
  }
  const only301: Json = {};
  for (const field of PROGRAM_ONLY_301) {
    if (!(field in out)) continue;
    const v = out[field];
    delete out[field];
    if (v === null || v === undefined) continue;
    if (typeof v !== 'string' || !parseDuration(v)) throw new BadRequest(`${field} must be an ISO 8601 duration`);
    only301[field] = v;
  }
  if (set.size > 0) {
    const kept = Array.isArray(out.attributes) ? (out.attributes as { type?: unknown }[]).filter((a) => !set.has(String(a?.type))) : [];
    out.attributes = [...kept, ...[...set].map(([type, v]) => ({ type, values: [v] }))];
  }
  return { body: out, only301 };
}

/** A 3.1.0 program in 3.0.1 form: mapped attributes → fields, plus the stored 3.0.1-only fields. */
export function programTo301(p: Json, only301: Json | undefined): Json {
  const r: Json = { ...p };
  if (Array.isArray(r.attributes)) {
    const rest: Json[] = [];
    for (const a of r.attributes as Json[]) {
      const m = PROGRAM_ATTRIBUTES_301.find(([, attribute]) => attribute === a.type);
      const v = Array.isArray(a.values) ? (a.values as unknown[])[0] : undefined;
      if (m && v !== undefined && r[m[0]] === undefined) r[m[0]] = v;
      else rest.push(a);
    }
    if (rest.length > 0) r.attributes = rest;
    else delete r.attributes;
  }
  return { ...r, ...(only301 ?? {}) };
}

const BOT = '0001-01-01T00:00:00Z';
function withStart(p: unknown): unknown {
  if (typeof p !== 'object' || p === null) return p;
  const ip = p as Json;
  return ip.start === undefined ? { ...ip, start: BOT } : ip;
}

function out301(o: unknown, only301: Map<string, Json>): unknown {
  if (Array.isArray(o)) return o.map((x) => out301(x, only301));
  if (typeof o !== 'object' || o === null) return o;
  const src = o as Json;
  if (typeof src.objectType !== 'string') return o;
  const r: Json = src.objectType === 'PROGRAM' ? programTo301(src, only301.get(String(src.id))) : { ...src };
  if ('targets' in r) r.targets = targetsTo301(r.targets);
  if (r.intervalPeriod) r.intervalPeriod = withStart(r.intervalPeriod);
  if (Array.isArray(r.intervals)) r.intervals = (r.intervals as Json[]).map((iv) => (iv.intervalPeriod ? { ...iv, intervalPeriod: withStart(iv.intervalPeriod) } : iv));
  if (Array.isArray(r.resources) && r.objectType === 'REPORT') {
    r.resources = (r.resources as Json[]).map((x) => (x.intervalPeriod ? { ...x, intervalPeriod: withStart(x.intervalPeriod) } : x));
  }
  return r;
}

const PATHS_301 = [/^\/programs(\/[^/]+)?$/, /^\/reports(\/[^/]+)?$/, /^\/events(\/[^/]+)?$/, /^\/subscriptions(\/[^/]+)?$/, /^\/vens(\/[^/]+)?$/, /^\/vens\/[^/]+\/resources(\/[^/]+)?$/, /^\/auth\/token$/];

export function createOpenadr301Router(deps: { db: Db; log: Logger; issuer: TokenIssuer; vtn: Router; maxBodyBytes: number }): Router {
  const router = express.Router();
  router.use(express.json({ limit: deps.maxBodyBytes }));
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    try {
      const url = new URL(req.url, 'http://x');
      if (!PATHS_301.some((re) => re.test(url.pathname))) throw new NotFound(`no route ${req.method} ${req.baseUrl}${url.pathname} in OpenADR 3.0.1`);
      const q = url.searchParams;
      // targetType + targetValues → targets
      const tType = q.get('targetType');
      const tValues = q.getAll('targetValues');
      q.delete('targetType');
      q.delete('targetValues');
      for (const t of targetsFrom301(tValues.length ? [{ type: tType ?? 'GROUP', values: tValues }] : []) ?? []) q.append('targets', t);
      let path = url.pathname;
      let body = req.body as Json | undefined;
      const res301 = /^\/vens\/([^/]+)\/resources(\/[^/]+)?$/.exec(path);
      if (res301) {
        if (res301[2]) {
          // The resource must belong to the ven of the path.
          const [r] = await deps.db.query<{ ven_id: string }>('SELECT ven_id FROM openadr_resource WHERE id = $1', [decodeURIComponent(res301[2].slice(1))]);
          if (r && r.ven_id !== decodeURIComponent(res301[1]!)) throw new NotFound(`resource ${res301[2].slice(1)} not found under ven ${res301[1]}`);
        }
        path = `/resources${res301[2] ?? ''}`;
        if (!res301[2] && req.method === 'GET') q.set('venID', res301[1]!);
        if (body && typeof body === 'object') body = { ...body, venID: res301[1] };
      }
      let only301: Json | undefined;
      let deleted301: Json | undefined;
      if (body && typeof body === 'object' && !Array.isArray(body) && path !== '/auth/token') {
        body = { ...body };
        if ('targets' in body) body.targets = targetsFrom301(body.targets);
        if (path.startsWith('/vens') || path.startsWith('/resources')) body = await translateVenBody(req, path, body);
        if (path.startsWith('/programs') && (req.method === 'POST' || req.method === 'PUT')) ({ body, only301 } = programFrom301(body));
      }
      if (req.method === 'DELETE' && /^\/programs\/[^/]+$/.test(path)) {
        // The answer is the deleted program: read its 3.0.1-only fields while they exist.
        const [row] = await deps.db.query<{ body_301: Json | string | null }>('SELECT body_301 FROM openadr_program WHERE id = $1', [decodeURIComponent(path.slice('/programs/'.length))]);
        deleted301 = row?.body_301 ? (typeof row.body_301 === 'string' ? (JSON.parse(row.body_301) as Json) : row.body_301) : undefined;
      }
      req.body = body;
      req.url = path + (q.size ? `?${q.toString()}` : '');
      const json = res.json.bind(res);
      res.json = (b: unknown) => {
        // Answered only once the 3.0.1-only fields are stored too (nothing acknowledged before it is durable).
        keep301(b, only301 ?? deleted301, res.statusCode, req.method === 'DELETE').then(
          (map) => json(out301(b, map)),
          (err: unknown) => next(err),
        );
        return res;
      };
      deps.vtn(req, res, next);
    } catch (err) {
      next(err);
    }
  });
  router.use(problemHandler(deps.log));
  return router;

  /**
   * After a successful 3.0.1 program write, stores its 3.0.1-only fields (a PUT replaces them); then
   * loads those of every program in the answer.
   */
  async function keep301(b: unknown, only301: Json | undefined, status: number, deleted: boolean): Promise<Map<string, Json>> {
    const single = typeof b === 'object' && b !== null && !Array.isArray(b) ? (b as Json) : undefined;
    if (only301 && !deleted && status < 300 && single?.objectType === 'PROGRAM') {
      await deps.db.query('UPDATE openadr_program SET body_301 = $2 WHERE id = $1', [String(single.id), JSON.stringify(only301)]);
    }
    const ids = (Array.isArray(b) ? (b as Json[]) : single ? [single] : []).filter((x) => x?.objectType === 'PROGRAM').map((x) => String(x.id));
    const map = new Map<string, Json>();
    if (ids.length === 0) return map;
    const rows = await deps.db.query<{ id: string; body_301: Json | string | null }>('SELECT id, body_301 FROM openadr_program WHERE id = ANY($1::text[])', [ids]);
    for (const r of rows) if (r.body_301) map.set(r.id, typeof r.body_301 === 'string' ? (JSON.parse(r.body_301) as Json) : r.body_301);
    // A deleted program is answered with its last state: use what the write carried.
    if (only301 && single && !map.has(String(single.id))) map.set(String(single.id), only301);
    return map;
  }

  async function translateVenBody(req: Request, path: string, body: Json): Promise<Json> {
    let role: 'bl' | 'ven' = 'ven';
    try {
      role = (await deps.issuer.authenticate(deps.db, req)).role;
    } catch {
      return body; // the 3.1.0 router answers 401
    }
    const isResource = path.startsWith('/resources');
    if (role === 'ven') {
      const { targets: _t, clientID: _c, ...rest } = body;
      return { ...rest, objectType: isResource ? 'VEN_RESOURCE_REQUEST' : 'VEN_VEN_REQUEST' };
    }
    let clientID = typeof body.clientID === 'string' ? body.clientID : undefined;
    if (!clientID && !isResource) clientID = typeof body.venName === 'string' ? body.venName : undefined;
    if (!clientID && isResource && typeof body.venID === 'string') {
      const [v] = await deps.db.query<{ client_id: string }>('SELECT client_id FROM openadr_ven WHERE id = $1', [body.venID]);
      clientID = v?.client_id;
    }
    return { ...body, objectType: isResource ? 'BL_RESOURCE_REQUEST' : 'BL_VEN_REQUEST', ...(clientID ? { clientID } : {}) };
  }
}
