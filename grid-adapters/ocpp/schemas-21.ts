/**
 * The official OCPP 2.1 JSON schemas (bundled with ocpp-rpc 2.2) as a strict-mode validator.
 *
 * ocpp-rpc 2.2 ships `ocpp2_1.json` with `$id`s of the form `urn:<Action>Request` / `urn:<Action>Response`
 * (as OCA publishes them for 2.1), while its strict mode looks schemas up as `urn:<Action>.req` /
 * `urn:<Action>.conf` (the 1.6 and 2.0.1 files use that form). Its built-in 'ocpp2.1' validator therefore
 * answers every 2.1 message with "Schema ... is missing". This module re-keys the same schemas, unchanged
 * otherwise, and is passed to RPCServer as `strictModeValidators` (it replaces the built-in one).
 * Pure: loads JSON from the package, no I/O beyond that.
 */
import { createRequire } from 'node:module';
import { createValidator } from 'ocpp-rpc';
import type { Validator } from 'ocpp-rpc/lib/validator.js';

const requireJson = createRequire(import.meta.url);

interface SchemaDoc {
  $id?: string;
  [k: string]: unknown;
}

/** `urn:XRequest` → `urn:X.req`, `urn:XResponse` → `urn:X.conf`; other ids unchanged. */
export function rekey21(id: string): string {
  const m = /^urn:(.+?)(Request|Response)$/.exec(id);
  if (!m) return id;
  return `urn:${m[1]}.${m[2] === 'Request' ? 'req' : 'conf'}`;
}

/**
 * Drops `additionalProperties` where it sits on a non-object type (the 2.1 enum definitions carry
 * `"type": "string", "additionalProperties": false`). It has no effect on a string, but Ajv logs a
 * strict-mode warning for every such definition when it compiles the schema.
 */
function withoutNoopKeywords(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutNoopKeywords);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  const o = node as Record<string, unknown>;
  const dropAp = typeof o.type === 'string' && o.type !== 'object';
  for (const [k, v] of Object.entries(o)) {
    if (k === 'additionalProperties' && dropAp) continue;
    out[k] = withoutNoopKeywords(v);
  }
  return out;
}

let cachedSchemas: SchemaDoc[] | undefined;

/** The 2.1 schema documents with re-keyed `$id`s. */
export function schemas21(): SchemaDoc[] {
  cachedSchemas ??= (requireJson('ocpp-rpc/lib/schemas/ocpp2_1.json') as SchemaDoc[]).map((s) => {
    const clean = withoutNoopKeywords(s) as SchemaDoc;
    return clean.$id ? { ...clean, $id: rekey21(clean.$id) } : clean;
  });
  return cachedSchemas;
}

let cachedValidator: Validator | undefined;

export function ocpp21Validator(): Validator {
  cachedValidator ??= createValidator('ocpp2.1', schemas21()) as Validator;
  return cachedValidator;
}

/** Actions with a request schema in the 2.1 set. */
export function actions21(): string[] {
  return schemas21().flatMap((s) => {
    const m = /^urn:(.+)\.req$/.exec(s.$id ?? '');
    return m ? [m[1]!] : [];
  });
}
