import GLPK from 'glpk.js/node';

/**
 * The part of glpk.js we use, typed locally so the rest of the optimizer depends on this narrow surface
 * rather than on the package's declarations (which differ between its Node and Web Worker entries).
 */
export interface GlpkTerm {
  name: string;
  coef: number;
}

export interface GlpkBounds {
  type: number;
  lb: number;
  ub: number;
}

export interface GlpkLp {
  name: string;
  objective: { direction: number; name: string; vars: GlpkTerm[] };
  subjectTo: { name: string; vars: GlpkTerm[]; bnds: GlpkBounds }[];
  bounds: ({ name: string } & GlpkBounds)[];
  /** Binary columns: makes glpk.js run its integer solver (glp_intopt) instead of the simplex. */
  binaries?: string[];
}

export interface GlpkOptions {
  msglev: number;
  tmlim: number;
  presol: boolean;
  /** Relative MIP gap at which branch and bound stops (integer solver only). */
  mipgap?: number;
}

export interface GlpkResult {
  result: { status: number; z: number | null; vars: Record<string, number> };
}

export interface GlpkConstants {
  readonly GLP_MIN: number;
  readonly GLP_UP: number;
  readonly GLP_DB: number;
  readonly GLP_FX: number;
  readonly GLP_LO: number;
  readonly GLP_FR: number;
  readonly GLP_MSG_OFF: number;
  readonly GLP_OPT: number;
  readonly GLP_FEAS: number;
  readonly GLP_UNDEF: number;
  readonly GLP_NOFEAS: number;
}

export interface Glpk extends GlpkConstants {
  /** Synchronous under Node; awaited anyway so the Web Worker build would fit the same call. */
  solve(lp: GlpkLp, options: GlpkOptions): GlpkResult | Promise<GlpkResult>;
}

const factory: () => Promise<Glpk> = GLPK;
let instance: Promise<Glpk> | undefined;

/** Loading the WASM module takes a while; one instance serves every call (solves do not share state). */
export function glpk(): Promise<Glpk> {
  if (instance) return instance;
  const loading = factory();
  instance = loading;
  // A failed load must not poison every later call.
  loading.catch(() => {
    if (instance === loading) instance = undefined;
  });
  return loading;
}

export type SolveOutcome =
  | { ok: true; feasibleOnly: boolean; z: number; vars: Record<string, number> }
  | { ok: false; reason: string };

/** Solves one LP; every failure (load error, time-out, non-optimal status, exception) becomes `ok: false`. */
export async function solveLp(lp: GlpkLp, timeLimitSec: number): Promise<SolveOutcome> {
  try {
    const g = await glpk();
    const res = await g.solve(lp, { msglev: g.GLP_MSG_OFF, tmlim: timeLimitSec, presol: true });
    const { status, z, vars } = res.result;
    if (status !== g.GLP_OPT && status !== g.GLP_FEAS) {
      return { ok: false, reason: `solver status ${status} (time limit ${timeLimitSec} s or numerical failure)` };
    }
    return { ok: true, feasibleOnly: status !== g.GLP_OPT, z: z ?? Number.NaN, vars };
  } catch (err) {
    return { ok: false, reason: `solver error: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export type MipOutcome =
  | { ok: true; feasibleOnly: boolean; z: number; vars: Record<string, number> }
  | { ok: false; noIncumbent: boolean; reason: string };

/**
 * Solves a MILP (an LP with `binaries`) with glpk's branch and bound, presolve on (glp_intopt needs it
 * without a prior simplex). Optimal within `mipgap` → `feasibleOnly` false; stopped by the time limit
 * with an integer solution (glp_mip_status GLP_FEAS) → `feasibleOnly`; without one (GLP_UNDEF) → `noIncumbent`.
 */
export async function solveMip(lp: GlpkLp, timeLimitSec: number, mipgap: number): Promise<MipOutcome> {
  try {
    const g = await glpk();
    const started = performance.now();
    const res = await g.solve(lp, { msglev: g.GLP_MSG_OFF, tmlim: timeLimitSec, presol: true, mipgap });
    const { status, z, vars } = res.result;
    // glp_intopt also ends with GLP_FEAS when it closes the gap to `mipgap` (GLP_EMIPGAP): only a stop at
    // the time limit leaves the solution unproven. glpk's clock is its own, so the time-out is judged by ours.
    const timedOut = performance.now() - started >= 0.98 * timeLimitSec * 1000;
    if (status === g.GLP_OPT || status === g.GLP_FEAS) return { ok: true, feasibleOnly: status === g.GLP_FEAS && timedOut, z: z ?? Number.NaN, vars };
    const noIncumbent = status === g.GLP_UNDEF;
    return { ok: false, noIncumbent, reason: noIncumbent ? `no integer solution within ${timeLimitSec.toFixed(1)} s` : `integer solver status ${status}` };
  } catch (err) {
    return { ok: false, noIncumbent: true, reason: `integer solver error: ${err instanceof Error ? err.message : String(err)}` };
  }
}
