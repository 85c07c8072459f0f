import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shared machine-readable specs (OSCP JSON schemas, OpenADR OpenAPI, ...) live outside the repo
 * and are not vendored (licences; see ../shared/specs/README.md). Tests read them from
 * `<repo>/../shared/specs`, or from GRIDFLEX_SPECS_DIR. Where they are missing, spec checks are
 * skipped with a note, unless GRIDFLEX_REQUIRE_SPECS is set (CI), where a missing spec fails.
 */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function specsDir(): string {
  const fromEnv = process.env.GRIDFLEX_SPECS_DIR;
  return fromEnv ? path.resolve(fromEnv) : path.resolve(repoRoot, '../shared/specs');
}

/** A path inside the specs folder, e.g. specPath('oscp', 'solarnetwork-v20-jsonschema'). */
export function specPath(...parts: string[]): string {
  return path.join(specsDir(), ...parts);
}

/** Whether the specs folder (or the given sub-path of it) exists. */
export function specsAvailable(...parts: string[]): boolean {
  return existsSync(specPath(...parts));
}

const noted = new Set<string>();

/**
 * Call from a test or hook (`function () { requireSpecsOrSkip(this) }`): skips it when the specs are
 * missing, or throws when GRIDFLEX_REQUIRE_SPECS is set.
 */
export function requireSpecsOrSkip(ctx: Mocha.Context, ...parts: string[]): void {
  if (specsAvailable(...parts)) return;
  const where = specPath(...parts);
  if (process.env.GRIDFLEX_REQUIRE_SPECS) throw new Error(`GRIDFLEX_REQUIRE_SPECS is set but ${where} does not exist (set GRIDFLEX_SPECS_DIR)`);
  if (!noted.has(where)) {
    noted.add(where);
    console.warn(`note: specs not found at ${where}; spec checks skipped (set GRIDFLEX_SPECS_DIR)`);
  }
  ctx.skip();
}
