import type { BindingConstraint, TopologyNode } from './model.ts';
import type { Problem } from './prepare.ts';
import type { Reasons } from './reasons.ts';
import type { AreaRange, Tree } from './topology.ts';
import { settleV2g } from './rounding.ts';

/**
 * Per-phase current limits (issue #4: "per-phase current limits (A) with number of phases and voltage
 * where a node is given in amperes"). docs/optimizer.md, "Phases and minimum power".
 *
 * Model: an EVSE at p kW draws, on each phase of a node with phase voltage V (phase-to-neutral),
 *   3-phase EVSE:               p / (3V) on L1, L2 and L3 (balanced);
 *   1-phase EVSE on Lx:         p / V on Lx, nothing on the others;
 *   1-phase of unknown phase,   p / V on every phase (the worst case: it may be on any of them).
 *   or connection unknown:
 * A node limit of A amperes is one row per phase: Σ_e coef[e][φ] · p_e ≤ A. When every EVSE under the node
 * has the same current vector (all balanced 3-phase, all on one phase, all unknown), or the node itself is
 * single-phase, the three rows collapse into one kW limit, A / max_φ coef[φ]; it is folded into the kW
 * limits (`foldPhaseLimits`), so every solver and post-processing step keeps it exactly. Otherwise ("mixed")
 * the LP gets the exact rows (`appendPhaseRows`), and everything that only knows kW limits (the priority
 * solver, the top-up, the headroom split) gets the conservative kW limit A / (worst coefficient), which
 * implies every row (`conservativeProblem`).
 * `exportLimitA` is the same on the export side (gross discharge, docs/optimizer.md "V2G and export"):
 * collapsing nodes are folded into the export limits, mixed ones get rows over the discharge columns only,
 * as the import rows are over the charge columns only (each direction is limited gross).
 */

const DEFAULT_PHASE_VOLTAGE_V = 230;
const PHASES = ['L1', 'L2', 'L3'] as const;

/** Current per kW drawn on L1, L2, L3 (A/kW) at 1 V; divide by the voltage for a node's coefficient. */
type Vec = readonly [number, number, number];
const BALANCED: Vec = [1000 / 3, 1000 / 3, 1000 / 3];
const WORST: Vec = [1000, 1000, 1000];
const ON: Record<(typeof PHASES)[number], Vec> = { L1: [1000, 0, 0], L2: [0, 1000, 0], L3: [0, 0, 1000] };

/** A node whose ampere limit needs one row per phase. */
export interface MixedNode {
  node: number;
  amps: number;
  /** Coefficient (A per kW) of each EVSE index under the node, per phase: coef[(e − evLo) * 3 + φ]. */
  coef: Float64Array;
  /** The kW limit that implies every row: amps / the largest coefficient. */
  conservativeKw: number;
}

/** What `allocate()` needs beyond the kW limits: the mixed nodes, and the problem with their conservative kW limits. */
export interface PhaseModel {
  /** Mixed nodes of `importLimitA` (rows over charge columns). */
  mixed: MixedNode[];
  /** Mixed nodes of `exportLimitA` (rows over discharge columns); empty without V2G sessions. */
  mixedExport: MixedNode[];
  conservative: Problem;
}

/** A node's `importLimitA` or `exportLimitA`: undefined when not given, 0 (the safe reading) when unusable. */
function ampsOf(n: TopologyNode, field: 'importLimitA' | 'exportLimitA', reasons: Reasons): number | undefined {
  const a = n[field];
  if (a === undefined || a === null) return undefined;
  if (typeof a !== 'number' || Number.isNaN(a) || a < 0) {
    reasons.add(`node ${n.id}: invalid ${field} ${String(a)} treated as 0 A`);
    return 0;
  }
  return a;
}

function voltageOf(n: TopologyNode, reasons: Reasons): number {
  const v = n.phaseVoltageV;
  if (v === undefined || v === null) return DEFAULT_PHASE_VOLTAGE_V;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    reasons.add(`node ${n.id}: invalid phaseVoltageV ${String(v)}, ${DEFAULT_PHASE_VOLTAGE_V} V used`);
    return DEFAULT_PHASE_VOLTAGE_V;
  }
  return v;
}

/** True when a node, or one of its ancestors, is single-phase (then so is everything under it). */
function singlePhase(tree: Tree, n: number): boolean {
  for (let k = n; k >= 0; k = tree.parent[k]!) if (tree.nodes[k]!.phaseCount === 1) return true;
  return false;
}

/** The current vector of an EVSE node: from its own `phaseCount`/`phase`, else the nearest ancestor's. */
function evseVec(tree: Tree, n: number): Vec {
  let count: 1 | 3 | undefined;
  let phase: TopologyNode['phase'];
  for (let k = n; k >= 0; k = tree.parent[k]!) {
    const node = tree.nodes[k]!;
    if (node.phaseCount === 1) count = 1;
    else if (node.phaseCount === 3 && count === undefined) count = 3;
    if (phase === undefined && node.phase !== undefined && PHASES.includes(node.phase)) phase = node.phase;
  }
  if (count === 3) return BALANCED;
  if (count === 1 && phase !== undefined) return ON[phase];
  return WORST;
}

function sameVec(a: Vec, b: Vec): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

interface Classified {
  /** kW limit equal to the rows (folded), or null when mixed. */
  exactKw: number | null;
  amps: number;
  volts: number;
}

/** Import (`importLimitA`) or export (`exportLimitA`) side of a node's ampere limit. */
function classify(tree: Tree, n: number, reasons: Reasons, side: 'import' | 'export' = 'import'): Classified | null {
  const node = tree.nodes[n]!;
  const amps = ampsOf(node, side === 'import' ? 'importLimitA' : 'exportLimitA', reasons);
  if (amps === undefined || !tree.reachable[n]) return null;
  const volts = voltageOf(node, reasons);
  // A single-phase node has one phase: all its current is on it, whatever the EVSEs below.
  if (singlePhase(tree, n)) return { exactKw: (amps * volts) / 1000, amps, volts };
  let vec: Vec | null = null;
  for (let e = tree.evLo[n]!; e < tree.evHi[n]!; e++) {
    const v = evseVec(tree, tree.evseNode[e]!);
    if (vec === null) vec = v;
    else if (!sameVec(vec, v)) return { exactKw: null, amps, volts };
  }
  // Without EVSEs the limit binds nothing; the balanced reading is the one a 3-phase node reports.
  const worst = Math.max(...(vec ?? BALANCED));
  return { exactKw: (amps * volts) / worst, amps, volts };
}

/**
 * Folds, in place, the kW equivalent of every ampere limit whose rows collapse into one kW limit into
 * `lim[node * count + t]` (the min with what is there). Mixed nodes are left to `phaseModel`.
 */
export function foldPhaseLimits(tree: Tree, lim: Float64Array, count: number, reasons: Reasons): void {
  for (const n of tree.preorder) {
    const c = classify(tree, n, reasons);
    if (!c || c.exactKw === null) continue;
    for (let t = 0; t < count; t++) {
      const k = n * count + t;
      if (c.exactKw < lim[k]!) lim[k] = c.exactKw;
    }
  }
}

/**
 * Export side: folds, in place, each `exportLimitA` whose rows collapse into one kW limit into the export
 * limits `[node * count + t]` (kW of gross discharge under the node). Mixed nodes are left to `phaseModel`
 * (exact rows over the discharge columns in the LP, the conservative kW limit elsewhere).
 */
export function foldPhaseExportLimits(tree: Tree, exportLim: Float64Array, count: number, reasons: Reasons): void {
  for (const n of tree.preorder) {
    const c = classify(tree, n, reasons, 'export');
    if (!c || c.exactKw === null) continue;
    for (let t = 0; t < count; t++) {
      const k = n * count + t;
      if (c.exactKw < exportLim[k]!) exportLim[k] = c.exactKw;
    }
  }
}

/** The mixed nodes of one side: per-EVSE coefficients and the conservative kW limit. */
function mixedNodes(tree: Tree, reasons: Reasons, side: 'import' | 'export'): MixedNode[] {
  const mixed: MixedNode[] = [];
  for (const n of tree.preorder) {
    const c = classify(tree, n, reasons, side);
    if (!c || c.exactKw !== null) continue;
    const lo = tree.evLo[n]!;
    const coef = new Float64Array((tree.evHi[n]! - lo) * 3);
    let worst = 0;
    for (let e = lo; e < tree.evHi[n]!; e++) {
      const v = evseVec(tree, tree.evseNode[e]!);
      for (let f = 0; f < 3; f++) {
        const x = v[f]! / c.volts;
        coef[(e - lo) * 3 + f] = x;
        if (x > worst) worst = x;
      }
    }
    mixed.push({ node: n, amps: c.amps, coef, conservativeKw: c.amps / worst });
  }
  return mixed;
}

/** `lim` with each mixed node's conservative kW limit min'd in (a copy). */
function withConservative(lim: Float64Array, mixed: MixedNode[], T: number): Float64Array {
  const out = Float64Array.from(lim);
  for (const m of mixed) {
    for (let t = 0; t < T; t++) {
      const k = m.node * T + t;
      if (m.conservativeKw < out[k]!) out[k] = m.conservativeKw;
    }
  }
  return out;
}

/** The mixed nodes of the problem and its conservative kW twin; null when there is none (the common case). */
export function phaseModel(p: Problem): PhaseModel | null {
  const { tree, count: T } = p;
  const mixed = mixedNodes(tree, p.reasons, 'import');
  // Export limits exist only when some session is V2G (prepare.ts); without them nothing discharges.
  const mixedExport = p.exportLim.length > 0 ? mixedNodes(tree, p.reasons, 'export') : [];
  if (mixed.length === 0 && mixedExport.length === 0) return null;
  const lim = mixed.length > 0 ? withConservative(p.lim, mixed, T) : p.lim;
  const exportLim = mixedExport.length > 0 ? withConservative(p.exportLim, mixedExport, T) : p.exportLim;
  return {
    mixed,
    mixedExport,
    conservative: {
      ...p,
      lim,
      pathLim: mixed.length > 0 ? tightestOnPath(tree, lim, T) : p.pathLim,
      exportLim,
      exportPathLim: mixedExport.length > 0 ? tightestOnPath(tree, exportLim, T) : p.exportPathLim,
    },
  };
}

/** limits.ts `pathLimits`, restated: limits.ts calls `foldPhaseLimits`, and an import back would be a cycle. */
function tightestOnPath(tree: Tree, lim: Float64Array, count: number): Float64Array {
  const out = new Float64Array(lim.length).fill(Number.POSITIVE_INFINITY);
  for (const n of tree.preorder) {
    const parent = tree.parent[n]!;
    for (let t = 0; t < count; t++) {
      const k = n * count + t;
      out[k] = parent < 0 ? lim[k]! : Math.min(lim[k]!, out[parent * count + t]!);
    }
  }
  return out;
}

/** The mixed nodes inside one grid area (import side, or export side). */
export function areaMixed(ph: PhaseModel | null, p: Problem, area: AreaRange, side: 'import' | 'export' = 'import'): MixedNode[] {
  if (!ph) return [];
  return (side === 'import' ? ph.mixed : ph.mixedExport).filter((m) => p.tree.pos[m.node]! >= area.lo && p.tree.pos[m.node]! < area.hi);
}

/** Glpk-shaped rows, so this module needs nothing from lp/ (which imports it). */
export interface PhaseRow {
  name: string;
  vars: { name: string; coef: number }[];
  ub: number;
}

/**
 * The exact per-phase rows of the mixed nodes, for an LP whose columns are (colEvse[c], colT[c]) named
 * colName[c]: Σ_e coef[e][φ] · p[e][t] ≤ A, per node, phase and interval with a column under the node.
 * Rows that cannot bind (every column at its upper bound stays within A) are left out. The import side
 * passes the charge columns, the export side the discharge columns (`prefix` keeps their names apart).
 */
export function phaseRows(p: Problem, mixed: MixedNode[], cols: { colEvse: Int32Array; colT: Int32Array; colUb: Float64Array; colName: string[] }, prefix = 'ph'): PhaseRow[] {
  if (mixed.length === 0) return [];
  const T = p.count;
  const byPos = new Map<number, number>();
  for (let c = 0; c < cols.colEvse.length; c++) byPos.set(cols.colEvse[c]! * T + cols.colT[c]!, c);
  const rows: PhaseRow[] = [];
  for (const m of mixed) {
    const lo = p.tree.evLo[m.node]!;
    const hi = p.tree.evHi[m.node]!;
    for (let t = 0; t < T; t++) {
      for (let f = 0; f < 3; f++) {
        const vars: PhaseRow['vars'] = [];
        let most = 0;
        for (let e = lo; e < hi; e++) {
          const c = byPos.get(e * T + t);
          const x = m.coef[(e - lo) * 3 + f]!;
          if (c === undefined || x === 0) continue;
          vars.push({ name: cols.colName[c]!, coef: x });
          most += x * cols.colUb[c]!;
        }
        if (most <= m.amps) continue;
        rows.push({ name: `${prefix}${m.node}_${PHASES[f]}_${t}`, vars, ub: m.amps });
      }
    }
  }
  return rows;
}

/**
 * Current (A) on each phase of a mixed node in interval t for setpoints `kw[e * count + t]`, one direction
 * (side 1: charging, −1: discharging; limits are gross per direction).
 */
function currents(p: Problem, m: MixedNode, kw: Float64Array, t: number, out: Float64Array, side: 1 | -1 = 1): void {
  const lo = p.tree.evLo[m.node]!;
  out.fill(0);
  for (let e = lo; e < p.tree.evHi[m.node]!; e++) {
    const v = kw[e * p.count + t]! * side;
    if (!(v > 0)) continue;
    for (let f = 0; f < 3; f++) out[f]! += m.coef[(e - lo) * 3 + f]! * v;
  }
}

/**
 * Last line of defence for the per-phase rows (as `enforceLimits` for the kW ones): where solver tolerances
 * or flooring leave a phase over its limit, the setpoints loading that phase in that direction are scaled
 * down (and dropped under their min power); V2G sessions whose discharge was cut are settled again along
 * their SoC (rounding.ts `settleV2g`). Returns how many setpoints changed.
 */
export function enforcePhaseLimits(p: Problem, mixed: MixedNode[], kw: Float64Array, mixedExport: MixedNode[] = []): number {
  const T = p.count;
  const amps = new Float64Array(3);
  let changed = 0;
  const touched = new Set<number>();
  for (const [side, nodes] of [[1, mixed], [-1, mixedExport]] as const) {
    for (const m of nodes) {
      const lo = p.tree.evLo[m.node]!;
      for (let t = 0; t < T; t++) {
        for (let guard = 0; guard < 4; guard++) {
          currents(p, m, kw, t, amps, side);
          const f = amps.findIndex((a) => a > m.amps + 1e-9);
          if (f < 0) break;
          const factor = Math.max(0, m.amps - 1e-6) / amps[f]!;
          for (let e = lo; e < p.tree.evHi[m.node]!; e++) {
            const k = e * T + t;
            // Only this direction's flow loads the row (gross per direction).
            const old = kw[k]! * side;
            if (!(old > 0) || m.coef[(e - lo) * 3 + f] === 0) continue;
            let v = Math.floor(old * factor * 1000) / 1000;
            if (v < (p.session[e]?.minKw ?? 0)) v = 0;
            kw[k] = v * side;
            changed++;
            if (side < 0) touched.add(e);
          }
        }
      }
    }
  }
  if (touched.size > 0) {
    const src = Float64Array.from(kw);
    for (const e of touched) settleV2g(p, e, src, kw);
  }
  return changed;
}

/**
 * Per-phase limits the plan reaches (within 1e-6 relative): import rows in intervals where a session under
 * the node wants energy, export rows (`kind: 'export'`) where a V2G session is plugged in below.
 */
export function phaseBinding(p: Problem, mixed: MixedNode[], plan: Float64Array, mixedExport: MixedNode[] = []): BindingConstraint[] {
  const T = p.count;
  const amps = new Float64Array(3);
  const out: BindingConstraint[] = [];
  for (const [side, nodes] of [[1, mixed], [-1, mixedExport]] as const) {
    for (const m of nodes) {
      for (let t = 0; t < T; t++) {
        let present = false;
        for (let e = p.tree.evLo[m.node]!; e < p.tree.evHi[m.node]! && !present; e++) {
          const s = p.session[e];
          present = !!s && s.maxKw > 0 && s.frac[t]! > 0 && (side > 0 ? s.energyKwh > 0 : s.v2g !== null);
        }
        if (!present) continue;
        currents(p, m, plan, t, amps, side);
        if (Math.max(amps[0]!, amps[1]!, amps[2]!) >= m.amps - 1e-6 * Math.max(1, m.amps)) out.push({ nodeId: p.tree.nodes[m.node]!.id, interval: t, kind: side > 0 ? 'import' : 'export' });
      }
    }
  }
  return out;
}
