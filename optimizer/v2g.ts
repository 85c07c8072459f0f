import type { LimitViolation } from './model.ts';
import { UNMET_PENALTY, type Problem } from './prepare.ts';
import { sumUnder } from './rounding.ts';

/**
 * V2G and export (docs/optimizer.md, "V2G and export"): the constants of the objective and what the result
 * reports about discharge. The LP rows are in lp/v2g-rows.ts, the SoC-safe rounding in rounding.ts.
 */

/**
 * Wear cost per kWh discharged (objective units; an unmet kWh costs 1000, prices weigh 0–10 per kWh). It
 * must exceed what the earlier-is-better tie-breaker (≤ 1 per kWh, columns.ts) could gain from charging
 * early and discharging late, so with flat prices nothing cycles; arbitrage needs a price spread worth
 * more than 2 of the 10 points the price range is scaled to (about 20 % of the horizon's price range).
 */
export const CYCLE_COST = 2;

/**
 * Per kWh of required export (envelope importKw < 0) the plan does not deliver: 100 × an unmet kWh, so
 * the grid's request is honoured before any session's energy, and the slack is used only when no V2G
 * discharge can cover it.
 */
export const EXPORT_SHORTFALL_PENALTY = 100 * UNMET_PENALTY;

/** `exportCapKw` per [e * count + t]: −kw where the EVSE discharges, else 0 (no share of export headroom). */
export function exportCaps(kw: Float64Array): Float64Array {
  const out = new Float64Array(kw.length);
  for (let k = 0; k < kw.length; k++) if (kw[k]! < 0) out[k] = -kw[k]!;
  return out;
}

/** `nodeExportTotalsKw` (Σ exportCapKw under each node) and `nodeExportLimitsKw`, only when some EVSE may discharge. */
export function nodeExportTotals(p: Problem, exportCap: Float64Array): { nodeExportTotalsKw?: Record<string, number[]>; nodeExportLimitsKw?: Record<string, number[]> } {
  if (!exportCap.some((x) => x > 0)) return {};
  const T = p.count;
  const { tree } = p;
  const used = new Float64Array(tree.nodes.length);
  const totals = tree.nodes.map(() => new Array<number>(T).fill(0));
  for (let t = 0; t < T; t++) {
    sumUnder(p, exportCap, t, used);
    for (const n of tree.preorder) totals[n]![t] = used[n]!;
  }
  const nodeExportTotalsKw: Record<string, number[]> = {};
  const nodeExportLimitsKw: Record<string, number[]> = {};
  tree.nodes.forEach((node, i) => {
    nodeExportTotalsKw[node.id] = totals[i]!;
    nodeExportLimitsKw[node.id] = Array.from(p.exportLim.subarray(i * T, (i + 1) * T));
  });
  return { nodeExportTotalsKw, nodeExportLimitsKw };
}

/** Setpoint resolution (rounding.ts floors to it): each discharging EVSE may export up to this much less than planned. */
export const SETPOINT_STEP_KW = 0.001;

/**
 * Visits every (node, interval) with a required export (envelope importKw < 0) and what the setpoints
 * leave missing of it (kW, ≤ 0 when met), with the number of EVSEs discharging under the node then.
 */
export function exportShortfalls(p: Problem, kw: Float64Array, visit: (node: number, t: number, shortKw: number, discharging: number) => void): void {
  const { count: T, tree } = p;
  for (const n of requiredNodes(p)) {
    for (let t = 0; t < T; t++) {
      const need = p.minExport[n * T + t]!;
      if (!(need > 0)) continue;
      // The net flow under the node (import positive) must be ≤ −need; its EVSEs are one index range.
      let net = 0;
      let discharging = 0;
      if (kw.length > 0) {
        for (let e = tree.evLo[n]!; e < tree.evHi[n]!; e++) {
          const v = kw[e * T + t]!;
          net += v;
          if (v < 0) discharging++;
        }
      }
      visit(n, t, net + need, discharging);
    }
  }
}

const requiredCache = new WeakMap<Problem, number[]>();

/** Reachable nodes with a required export in some interval, in preorder (computed once per problem). */
export function requiredNodes(p: Problem): number[] {
  const hit = requiredCache.get(p);
  if (hit) return hit;
  const T = p.count;
  const out: number[] = [];
  if (p.minExport.length === 0) {
    requiredCache.set(p, out);
    return out;
  }
  for (const n of p.tree.preorder) {
    for (let t = 0; t < T; t++) {
      if (p.minExport[n * T + t]! > 0) {
        out.push(n);
        break;
      }
    }
  }
  requiredCache.set(p, out);
  return out;
}

/**
 * The required exports (envelope importKw < 0) the returned setpoints do not meet, by how much (kW). The
 * LP uses its penalized slack only when the input makes the export impossible (not enough V2G discharge
 * below the node, their SoC, or an export limit in the way). Flooring to 0.001 kW may leave up to that
 * much per discharging EVSE missing (the setpoint resolution, as for unmet energy); such a shortfall is not
 * listed, and verifyAllocation allows the same.
 */
export function findViolations(p: Problem, kw: Float64Array): LimitViolation[] {
  const out: LimitViolation[] = [];
  exportShortfalls(p, kw, (n, t, short, discharging) => {
    if (short > 1e-6 + SETPOINT_STEP_KW * discharging) out.push({ nodeId: p.tree.nodes[n]!.id, interval: t, kind: 'import', excessKw: Math.round(short * 1e6) / 1e6 });
  });
  return out;
}
