import { phaseRows, type MixedNode } from '../phases.ts';
import type { Problem } from '../prepare.ts';
import type { AreaLp } from './build.ts';
import type { GlpkConstants } from './solve.ts';

/**
 * Adds the exact per-phase rows of the mixed-phase nodes (phases.ts) to a built LP (an area's, or the
 * monolithic one), after lp/build.ts has laid out its columns: Σ_e (A per kW of e on φ) · p[e][t] ≤ A over
 * the charge columns for `importLimitA`, Σ_e (A per kW of e on φ) · q[e][t] ≤ A over the discharge columns
 * for `exportLimitA` (each direction gross, as the kW limits: docs/optimizer.md "V2G and export").
 */
export function appendPhaseRows(p: Problem, mixed: MixedNode[], built: AreaLp, k: GlpkConstants, mixedExport: MixedNode[] = []): void {
  const dis = { colEvse: built.disEvse, colT: built.disT, colUb: built.disUb, colName: built.disName };
  for (const r of [...phaseRows(p, mixed, built), ...phaseRows(p, mixedExport, dis, 'phx')]) {
    built.lp.subjectTo.push({ name: r.name, vars: r.vars, bnds: { type: k.GLP_UP, lb: 0, ub: r.ub } });
    built.rows++;
  }
}
