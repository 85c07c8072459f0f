import type { AllocationInput } from '../model.ts';
import { prepare } from '../prepare.ts';
import { areaColumns } from './columns.ts';
import { buildMonolithicLp, energyFirstLp, withEnergyFloor } from './build.ts';
import { fixedObjective } from './report.ts';
import { glpk } from './solve.ts';
import { appendPhaseRows } from './phase-rows.ts';
import { phaseModel } from '../phases.ts';

export interface MonolithicResult {
  /** The LP optimum in the units of `SolverReport.planObjective` (sessions that cannot charge included). */
  objective: number;
  ms: number;
  columns: number;
  rows: number;
}

/**
 * The reference: the whole instance as one LP (every area in it), solved directly with glpk.js, no
 * decomposition, no rounding. Used by the tests and the bench to check allocate()'s objective; not by
 * allocate() itself. Returns null when glpk stops without a proven optimum (e.g. the time limit).
 */
export async function monolithicOptimum(input: AllocationInput, timeLimitSec: number): Promise<MonolithicResult | null> {
  const started = performance.now();
  const p = prepare(input);
  const inLp = new Uint8Array(p.tree.evseNode.length);
  for (const area of p.tree.roots) for (const e of areaColumns(p, area).sessions) inLp[e] = 1;
  // Sessions with no variable, and required exports of areas with none (report.ts).
  const fixed = fixedObjective(p, inLp);
  const g = await glpk();
  const built = p.valid ? buildMonolithicLp(p, g) : null;
  if (!built) return { objective: fixed, ms: performance.now() - started, columns: 0, rows: 0 };
  const ph = phaseModel(p);
  if (ph) appendPhaseRows(p, ph.mixed, built, g, ph.mixedExport);
  const first = energyFirstLp(built, g);
  if (first) {
    const kwh = await g.solve(first, { msglev: g.GLP_MSG_OFF, tmlim: timeLimitSec, presol: true });
    if (kwh.result.status !== g.GLP_OPT || kwh.result.z === null) return null;
    withEnergyFloor(built, -kwh.result.z, g);
  }
  const res = await g.solve(built.lp, { msglev: g.GLP_MSG_OFF, tmlim: timeLimitSec, presol: true });
  if (res.result.status !== g.GLP_OPT || res.result.z === null) return null;
  return { objective: res.result.z + fixed, ms: performance.now() - started, columns: built.colName.length, rows: built.rows };
}
