import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { parse } from 'yaml';
import { specPath, specsAvailable } from './specs.ts';

/**
 * The OpenADR 3 OpenAPI documents (../shared/specs/openadr3/<version>/openadr3.yaml), compiled with
 * Ajv 2020 to check every request our tests send to the VTN and every response it gives.
 *
 * Both documents are OpenAPI 3.0 (`openapi: 3.0.0`, `nullable`), so schemas are converted: `nullable:
 * true` becomes a union with null; boolean exclusiveMaximum/-Minimum become numbers; `discriminator`,
 * `example` are dropped; OpenAPI formats int32,
 * int64, float, double are accepted as annotations.
 *
 * One erratum of the 3.1.0 document is patched, and only for validation: `ven` and `resource` are
 * `allOf` objectMetadata (objectType ∈ PROGRAM…RESOURCE) and BlVenRequest / BlResourceRequest
 * (objectType ∈ [BL_VEN_REQUEST] / [BL_RESOURCE_REQUEST]); no object satisfies both, so the request's
 * objectType is left out of the server representations.
 */
const addFormats = ajvFormats.default;
export type OpenadrVersion = '3.1.0' | '3.0.1';

export function openadrSpecParts(v: OpenadrVersion): string[] {
  return ['openadr3', v, 'openadr3.yaml'];
}

type Json = Record<string, unknown>;

function convert(node: unknown, base: string): unknown {
  if (Array.isArray(node)) return node.map((n) => convert(n, base));
  if (typeof node !== 'object' || node === null) return node;
  const src = node as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === 'nullable' || k === 'discriminator' || k === 'example' || k === 'xml') continue;
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/')) out[k] = base + v;
    else out[k] = convert(v, base);
  }
  // OpenAPI 3.0 (draft 4) boolean exclusiveMaximum/-Minimum → 2020-12 numbers.
  for (const [ex, lim] of [['exclusiveMaximum', 'maximum'], ['exclusiveMinimum', 'minimum']] as const) {
    if (typeof out[ex] === 'boolean') {
      if (out[ex] === true && typeof out[lim] === 'number') out[ex] = out[lim];
      else delete out[ex];
      if (typeof out[ex] === 'number') delete out[lim];
    }
  }
  if (src.nullable === true) {
    if (typeof out.type === 'string') {
      out.type = [out.type, 'null'];
      if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
      return out;
    }
    return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

interface Loaded {
  ajv: Ajv2020;
  doc: Json;
  base: string;
  cache: Map<string, ValidateFunction>;
}
const loaded = new Map<OpenadrVersion, Loaded>();

function load(v: OpenadrVersion): Loaded {
  const have = loaded.get(v);
  if (have) return have;
  const doc = parse(readFileSync(specPath(...openadrSpecParts(v)), 'utf8')) as Json;
  const base = `urn:openadr:${v}`;
  const components = convert(doc.components, base) as { schemas: Record<string, Json> };
  if (v === '3.1.0') {
    for (const [name, bl] of [['ven', 'BlVenRequest'], ['resource', 'BlResourceRequest']] as const) {
      const req = structuredClone(components.schemas[bl]!) as { properties: Json; required: string[] };
      delete req.properties.objectType;
      req.required = req.required.filter((r) => r !== 'objectType');
      components.schemas[`${bl}ServerView`] = req as unknown as Json;
      components.schemas[name] = { ...components.schemas[name], allOf: [{ $ref: `${base}#/components/schemas/objectMetadata` }, { $ref: `${base}#/components/schemas/${bl}ServerView` }] };
    }
  }
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  for (const f of ['int32', 'int64', 'float', 'double']) ajv.addFormat(f, true);
  ajv.addSchema({ $id: base, components });
  const l = { ajv, doc, base, cache: new Map() };
  loaded.set(v, l);
  return l;
}

function compile(l: Loaded, key: string, schema: unknown): ValidateFunction {
  let fn = l.cache.get(key);
  if (!fn) {
    fn = l.ajv.compile(convert(schema, l.base) as Json);
    l.cache.set(key, fn);
  }
  return fn;
}

function resolve(l: Loaded, node: unknown): Json {
  let n = node as Json;
  while (n && typeof n.$ref === 'string') {
    const parts = (n.$ref as string).replace(/^#\//, '').split('/');
    n = parts.reduce<Json>((acc, p) => acc[p] as Json, l.doc);
  }
  return n;
}

function operation(l: Loaded, method: string, pathTemplate: string): Json {
  const paths = l.doc.paths as Record<string, Json>;
  const item = paths[pathTemplate];
  if (!item) throw new Error(`OpenADR ${pathTemplate} is not a path of the document`);
  const op = item[method.toLowerCase()] as Json | undefined;
  if (!op) throw new Error(`OpenADR ${method} ${pathTemplate} is not an operation of the document`);
  return op;
}

function errorsOf(fn: ValidateFunction, body: unknown): string[] {
  if (fn(body)) return [];
  return (fn.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`);
}

/** Errors of a response body against the document's response for (method, path, status); [] when valid. */
export function responseErrors(v: OpenadrVersion, method: string, pathTemplate: string, status: number, body: unknown): string[] {
  const l = load(v);
  const op = operation(l, method, pathTemplate);
  const responses = op.responses as Record<string, unknown>;
  const r = responses[String(status)];
  // Some operations (e.g. PUT /programs/{id}) omit 401 though they are secured: check it as a problem.
  if (!r && status === 401) return schemaErrors(v, 'problem', body);
  if (!r) return [`status ${status} is not a documented response of ${method} ${pathTemplate}`];
  const content = resolve(l, r).content as Record<string, { schema: unknown }> | undefined;
  const schema = content?.['application/json']?.schema;
  if (!schema) return body === undefined || body === '' ? [] : [`${method} ${pathTemplate} ${status} documents no body`];
  return errorsOf(compile(l, `res ${method} ${pathTemplate} ${status}`, schema), body);
}

/** Errors of a request body against the document's requestBody of (method, path). */
export function requestErrors(v: OpenadrVersion, method: string, pathTemplate: string, body: unknown, contentType = 'application/json'): string[] {
  const l = load(v);
  const op = operation(l, method, pathTemplate);
  const rb = op.requestBody ? resolve(l, op.requestBody) : undefined;
  const schema = (rb?.content as Record<string, { schema: unknown }> | undefined)?.[contentType]?.schema;
  if (!schema) return [`${method} ${pathTemplate} documents no ${contentType} request body`];
  return errorsOf(compile(l, `req ${method} ${pathTemplate} ${contentType}`, schema), body);
}

/** Errors of a value against one component schema (e.g. 'notification'). */
export function schemaErrors(v: OpenadrVersion, name: string, value: unknown): string[] {
  const l = load(v);
  return errorsOf(compile(l, `schema ${name}`, { $ref: `#/components/schemas/${name}` }), value);
}

/** The documented paths × methods (for the coverage check). */
export function documentedOperations(v: OpenadrVersion): { method: string; path: string }[] {
  const l = load(v);
  const out: { method: string; path: string }[] = [];
  for (const [path, item] of Object.entries(l.doc.paths as Record<string, Json>)) {
    for (const m of ['get', 'post', 'put', 'delete']) if (item[m]) out.push({ method: m.toUpperCase(), path });
  }
  return out;
}

export function openadrSpecAvailable(v: OpenadrVersion): boolean {
  return specsAvailable(...openadrSpecParts(v));
}

let noted = false;
/** Where the specs are missing: false (skip the check, with a note), or throws under GRIDFLEX_REQUIRE_SPECS. */
export function checkSpecs(v: OpenadrVersion): boolean {
  if (openadrSpecAvailable(v)) return true;
  if (process.env.GRIDFLEX_REQUIRE_SPECS) throw new Error(`GRIDFLEX_REQUIRE_SPECS is set but ${specPath(...openadrSpecParts(v))} is missing`);
  if (!noted) console.warn(`note: OpenADR ${v} OpenAPI document not found; spec checks skipped (set GRIDFLEX_SPECS_DIR)`);
  noted = true;
  return false;
}
