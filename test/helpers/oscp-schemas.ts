import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';
import { specPath, specsAvailable } from './specs.ts';

/**
 * The official OSCP 2.0 JSON schemas (draft-07, 26 files) compiled with Ajv + ajv-formats, to check
 * every body gridflex sends or receives in tests.
 *
 * Two files' `$id` differs from their file name (version-url.json says version_url.json;
 * update-asset-measurements.json says update-asset-measurement.json), while the `$ref`s use the file
 * names. So each schema is registered under `<base URI>/<file name>`: its `$id` is replaced by that,
 * and every relative `$ref` resolves to a loaded file.
 */
export const OSCP_SCHEMA_PARTS = ['oscp', 'solarnetwork-v20-jsonschema'] as const;
const BASE = 'http://www.openchargealliance.org/schemas/oscp/2.0/';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module.
const addFormats = ajvFormats.default;

let ajv: Ajv | undefined;
let files: string[] = [];

export function oscpSchemasAvailable(): boolean {
  return specsAvailable(...OSCP_SCHEMA_PARTS);
}

function load(): Ajv {
  if (ajv) return ajv;
  const dir = specPath(...OSCP_SCHEMA_PARTS);
  files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const a = new Ajv({ allErrors: true, strict: true });
  addFormats(a);
  for (const f of files) {
    const json = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Record<string, unknown>;
    a.addSchema({ ...json, $id: BASE + f });
  }
  ajv = a;
  return a;
}

/** The base names of the loaded schema files (26 for OSCP 2.0). */
export function oscpSchemaFiles(): string[] {
  load();
  return files.map((f) => f.replace(/\.json$/, ''));
}

function validator(fileBase: string): ValidateFunction {
  const v = load().getSchema(BASE + fileBase + '.json');
  if (!v) throw new Error(`no OSCP schema ${fileBase}.json`);
  return v;
}

/** Errors of `body` against the official schema `<fileBase>.json` (e.g. 'register'); [] when valid. */
export function validateOscp(fileBase: string, body: unknown): string[] {
  const v = validator(fileBase);
  if (v(body)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`);
}

let skipNoted = false;

/**
 * Asserts `body` is valid against the official schema `<fileBase>.json`. Where the specs are missing
 * the check is skipped with a note (and fails when GRIDFLEX_REQUIRE_SPECS is set), so a test can
 * check every message it sees without being skipped as a whole.
 */
export function assertOscpValid(fileBase: string, body: unknown, what = fileBase): void {
  if (!oscpSchemasAvailable()) {
    if (process.env.GRIDFLEX_REQUIRE_SPECS) throw new Error(`GRIDFLEX_REQUIRE_SPECS is set but the OSCP schemas are missing at ${specPath(...OSCP_SCHEMA_PARTS)}`);
    if (!skipNoted) console.warn(`note: OSCP schemas not found at ${specPath(...OSCP_SCHEMA_PARTS)}; official-schema checks skipped`);
    skipNoted = true;
    return;
  }
  const errors = validateOscp(fileBase, body);
  if (errors.length > 0) throw new Error(`${what} is not a valid OSCP 2.0 ${fileBase}: ${errors.join('; ')}\n${JSON.stringify(body)}`);
}

/** The official schema for a body sent to an OSCP endpoint (endpoint names use _, files use -). */
export function schemaOfEndpoint(endpoint: string): string {
  return endpoint.replace(/_/g, '-');
}
