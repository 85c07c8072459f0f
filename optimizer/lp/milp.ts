import type { MinPowerMode } from '../model.ts';
import type { Problem } from '../prepare.ts';
import type { AreaLp } from './build.ts';
import { solveLp, solveMip, type GlpkConstants, type GlpkLp, type SolveOutcome } from './solve.ts';

/**
 * The exact min-power mode (issue #4: "minimum current a charger can run at (below it the EVSE must be
 * off: offer an exact MILP mode with GLPK's integer solver and a fast LP-plus-rounding mode, and say which
 * is used)"). On top of an area's LP (lp/build.ts, unchanged), for every column p whose session has a min
 * power m > 0, a binary y ("the charger runs in this interval") and
 *   p − m · y ≥ 0,   p − ub · y ≤ 0
 * so p ∈ {0} ∪ [m, ub]. The objective is the LP's: the MILP optimum is the best plan that respects the
 * min powers, which the rounding mode (LP, turn off what is under the min, top up) only approximates.
 */

/**
 * Above this many binaries an area uses the rounding mode. Measured on the bench instance (min 4.1 kW on
 * every EVSE, binding envelope, default 10 s limit so 6 s for the MILP, shared 2-core machine): 2 and 5
 * sites (120, 216 binaries) proven optimal in 0.3 and 1.1 s; 10 and 20 sites (604, 1164 binaries) stop at
 * the time limit with an integer solution that leaves 22 % and 9 % less energy unmet than rounding; 30 and
 * 50 sites (≈ 1 700, 2 900 binaries) find no integer solution in 6 s (docs/optimizer.md).
 */
export const MILP_MAX_BINARIES = 1_500;
/** Stop branch and bound within this relative gap: exact up to the tie-breaker's scale (an unmet kWh costs 1000). */
export const MILP_GAP = 1e-6;
/** Share of the time left that the MILP may use; the rest is kept for the LP, so an area without an integer solution still gets the rounding mode. */
export const MILP_TIME_SHARE = 0.6;

export interface MinPowerCuts {
  binaries: string[];
  rows: GlpkLp['subjectTo'];
}

/** The binaries and linking rows of an area's LP; null when no column has a min power (the LP is then exact). */
export function minPowerCuts(p: Problem, built: AreaLp, k: GlpkConstants): MinPowerCuts | null {
  const binaries: string[] = [];
  const rows: GlpkLp['subjectTo'] = [];
  for (let c = 0; c < built.colName.length; c++) {
    const m = p.session[built.colEvse[c]!]!.minKw;
    if (!(m > 0)) continue;
    const x = built.colName[c]!;
    const y = `y${c}`;
    binaries.push(y);
    rows.push({ name: `on_lo${c}`, vars: [{ name: x, coef: 1 }, { name: y, coef: -m }], bnds: { type: k.GLP_LO, lb: 0, ub: 0 } });
    rows.push({ name: `on_hi${c}`, vars: [{ name: x, coef: 1 }, { name: y, coef: -built.colUb[c]! }], bnds: { type: k.GLP_UP, lb: 0, ub: 0 } });
  }
  return binaries.length > 0 ? { binaries, rows } : null;
}

/** `lp` with the cuts: a new object, `lp` itself is left as it is (it is the rounding mode's fallback). */
export function withMinPower(lp: GlpkLp, cuts: MinPowerCuts): GlpkLp {
  return { ...lp, name: `${lp.name}_milp`, subjectTo: [...lp.subjectTo, ...cuts.rows], binaries: cuts.binaries };
}

/** How an area's min powers are handled, decided once per area before any stage is solved. */
export type AreaMode = { milp: true; cuts: MinPowerCuts } | { milp: false; why?: string };

export function areaMode(p: Problem, built: AreaLp, k: GlpkConstants, mode: MinPowerMode): AreaMode {
  if (mode !== 'milp') return { milp: false };
  const cuts = minPowerCuts(p, built, k);
  if (!cuts) return { milp: false, why: 'no min power in the area, the LP is exact' };
  if (cuts.binaries.length > MILP_MAX_BINARIES) return { milp: false, why: `${cuts.binaries.length} binaries (over ${MILP_MAX_BINARIES}): LP plus rounding` };
  return { milp: true, cuts };
}

export interface StageResult {
  res: SolveOutcome;
  /** True when `res` came from the integer solver; false when the stage fell back to the LP. */
  milp: boolean;
  note?: string;
}

/**
 * One solve of `lp` (an area's LP or its energy-first stage) in the area's mode. MILP: within
 * MILP_TIME_SHARE of the time left; a time-out with an integer solution keeps it (`feasibleOnly`), one
 * without falls back to the LP (the rounding mode) in the time that is left.
 */
export async function solveStage(lp: GlpkLp, timeLeftSec: number, mode: AreaMode, now: () => number): Promise<StageResult> {
  if (!mode.milp) return { res: await solveLp(lp, timeLeftSec), milp: false };
  const start = now();
  const mip = await solveMip(withMinPower(lp, mode.cuts), timeLeftSec * MILP_TIME_SHARE, MILP_GAP);
  if (mip.ok) {
    return { res: mip, milp: true, ...(mip.feasibleOnly ? { note: 'integer solver stopped at its time limit: best integer solution used, not proven optimal' } : {}) };
  }
  // glpk's tmlim leaves out building and presolving, so the MILP can run past its share: the LP keeps at
  // least the share reserved for it (the area may end a little after the budget, never without a plan).
  const left = Math.max(timeLeftSec - (now() - start) / 1000, timeLeftSec * (1 - MILP_TIME_SHARE));
  return { res: await solveLp(lp, left), milp: false, note: `${mip.reason}: LP plus rounding instead` };
}
