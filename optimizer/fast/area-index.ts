import { PRIORITY_BONUS, UNMET_PENALTY, type Problem } from '../prepare.ts';
import type { AreaRange } from '../topology.ts';
import type { AreaColumns } from '../lp/columns.ts';

/** One area's columns indexed for the priority solver's greedy passes. */
export interface AreaIndex {
  T: number;
  nC: number;
  nS: number;
  /** Per session: energy wanted (kWh) and weight per unmet kWh. */
  E: Float64Array;
  w: Float64Array;
  /** Σ_s w_s · E_s. */
  offset: number;
  /** Value per kWh of each interval besides the session weight (tie-breaker − cost). */
  r: Float64Array;
  /** Columns by interval: tCols[tOff[t] .. tOff[t + 1]). */
  tOff: Int32Array;
  tCols: Int32Array;
  /** A session's columns are the range [sessOff[s], sessOff[s + 1]) (columns.ts enumerates session by session). */
  sessOff: Int32Array;
  /** Nodes of the area with a finite limit somewhere in the horizon, in preorder; `local[n]` = index in it or -1. */
  limitedNodes: number[];
  local: Int32Array;
  /** The limited nodes on the path of EVSE e (from the EVSE up): path[evPathOff[e − evLo] .. evPathOff[e − evLo + 1]). */
  evPathOff: Int32Array;
  path: Int32Array;
}

export function indexArea(p: Problem, area: AreaRange, cols: AreaColumns): AreaIndex {
  const { count: T, tree, lim } = p;
  const nC = cols.colEvse.length;
  const nS = cols.sessions.length;
  const E = new Float64Array(nS);
  const w = new Float64Array(nS);
  let offset = 0;
  cols.sessions.forEach((e, s) => {
    const sess = p.session[e]!;
    E[s] = sess.energyKwh;
    w[s] = sess.weight;
    offset += sess.weight * sess.energyKwh;
  });
  const r = Float64Array.from(p.intervalValue);

  const tOff = new Int32Array(T + 1);
  for (let c = 0; c < nC; c++) tOff[cols.colT[c]! + 1]!++;
  for (let t = 0; t < T; t++) tOff[t + 1]! += tOff[t]!;
  const tCols = new Int32Array(nC);
  const at = tOff.slice(0, T);
  for (let c = 0; c < nC; c++) tCols[at[cols.colT[c]!]!++] = c;
  const sessOff = new Int32Array(nS + 1);
  for (let c = 0; c < nC; c++) sessOff[cols.sessionOf[c]! + 1] = c + 1;
  // A V2G session with discharge columns only (no charging possible) has an empty range.
  for (let s = 0; s < nS; s++) if (sessOff[s + 1]! < sessOff[s]!) sessOff[s + 1] = sessOff[s]!;

  const local = new Int32Array(tree.nodes.length).fill(-1);
  const limitedNodes: number[] = [];
  for (let q = area.lo; q < area.hi; q++) {
    const n = tree.preorder[q]!;
    for (let t = 0; t < T; t++) {
      if (lim[n * T + t]! !== Number.POSITIVE_INFINITY) {
        local[n] = limitedNodes.length;
        limitedNodes.push(n);
        break;
      }
    }
  }
  const evPathOff = new Int32Array(area.evHi - area.evLo + 1);
  const evPath: number[] = [];
  for (let e = area.evLo; e < area.evHi; e++) {
    for (let n = tree.evseNode[e]!; n >= 0; n = tree.parent[n]!) if (local[n]! >= 0) evPath.push(n);
    evPathOff[e - area.evLo + 1] = evPath.length;
  }
  return { T, nC, nS, E, w, offset, r, tOff, tCols, sessOff, limitedNodes, local, evPathOff, path: Int32Array.from(evPath) };
}

/** Headroom per limited node and interval, `[local * T + t]`, before any column takes some. */
function fullHeadroom(p: Problem, ix: AreaIndex): Float64Array {
  const head = new Float64Array(ix.limitedNodes.length * ix.T);
  ix.limitedNodes.forEach((n, i) => head.set(p.lim.subarray(n * ix.T, (n + 1) * ix.T), i * ix.T));
  return head;
}

/** The session's columns, most valuable interval first (cheaper, then earlier). */
function byValue(ix: AreaIndex, cols: AreaColumns, s: number): number[] {
  const mine: number[] = [];
  for (let c = ix.sessOff[s]!; c < ix.sessOff[s + 1]!; c++) mine.push(c);
  return mine.sort((a, b) => ix.r[cols.colT[b]!]! - ix.r[cols.colT[a]!]! || a - b);
}

/**
 * A plan built session by session, priority sessions first, then least laxity first (how many intervals at its power it could skip),
 * each session taking its most valuable intervals first within the headroom the sessions before it left.
 * Where limits are loose and prices vary this is what the optimum does. Writes `x`, returns its value.
 */
export function sessionPass(p: Problem, area: AreaRange, cols: AreaColumns, ix: AreaIndex, x: Float64Array): number {
  const { T, nS, E, w, r, sessOff, local, evPathOff, path } = ix;
  const head = fullHeadroom(p, ix);
  const slack = new Float64Array(nS);
  const bySlack = new Int32Array(nS);
  for (let s = 0; s < nS; s++) {
    let cap = 0;
    let peak = 0;
    for (let c = sessOff[s]!; c < sessOff[s + 1]!; c++) {
      cap += cols.colA[c]! * cols.colUb[c]!;
      peak = Math.max(peak, cols.colA[c]! * cols.colUb[c]!);
    }
    slack[s] = (cap - E[s]!) / Math.max(peak, 1e-9);
    bySlack[s] = s;
  }
  // Priority sessions (w ≥ 2000, PRIORITY_BONUS) all before the others, then least laxity first.
  const prio = (s: number): number => (w[s]! >= UNMET_PENALTY + PRIORITY_BONUS ? 1 : 0);
  bySlack.sort((a, b) => prio(b) - prio(a) || slack[a]! - slack[b]! || w[b]! - w[a]! || a - b);
  x.fill(0);
  let value = 0;
  for (const s of bySlack) {
    let left = E[s]!;
    for (const c of byValue(ix, cols, s)) {
      if (!(left > 1e-12)) break;
      const t = cols.colT[c]!;
      const e = cols.colEvse[c]! - area.evLo;
      let v = Math.min(cols.colUb[c]!, left / cols.colA[c]!);
      for (let k = evPathOff[e]!; k < evPathOff[e + 1]!; k++) v = Math.min(v, head[local[path[k]!]! * T + t]!);
      if (!(v > 0)) continue;
      for (let k = evPathOff[e]!; k < evPathOff[e + 1]!; k++) head[local[path[k]!]! * T + t]! -= v;
      x[c] = v;
      left -= cols.colA[c]! * v;
      value += (w[s]! + r[t]!) * cols.colA[c]! * v;
    }
  }
  return value;
}

/**
 * Last pass on a plan: within each session, energy moves from its least to its most valuable intervals
 * (dearer to cheaper, later to earlier) as far as headroom allows. A session's energy stays the same and a
 * lower value only frees headroom, so the plan stays feasible and its value only rises. Returns the gain.
 */
export function shiftWithinSessions(p: Problem, area: AreaRange, cols: AreaColumns, ix: AreaIndex, plan: Float64Array): number {
  const { T, nC, nS, r, local, evPathOff, path } = ix;
  const head = fullHeadroom(p, ix);
  const add = (c: number, v: number): void => {
    const e = cols.colEvse[c]! - area.evLo;
    for (let k = evPathOff[e]!; k < evPathOff[e + 1]!; k++) head[local[path[k]!]! * T + cols.colT[c]!]! -= v;
    plan[c]! += v;
  };
  const room = (c: number): number => {
    const e = cols.colEvse[c]! - area.evLo;
    let v = cols.colUb[c]! - plan[c]!;
    for (let k = evPathOff[e]!; k < evPathOff[e + 1]!; k++) v = Math.min(v, head[local[path[k]!]! * T + cols.colT[c]!]!);
    return v;
  };
  for (let c = 0; c < nC; c++) {
    const v = plan[c]!;
    plan[c] = 0;
    if (v > 0) add(c, v);
  }
  let gained = 0;
  for (let s = 0; s < nS; s++) {
    const mine = byValue(ix, cols, s);
    let lo = mine.length - 1;
    for (let hi = 0; hi < lo; hi++) {
      const ch = mine[hi]!;
      let free = room(ch);
      while (free > 1e-9 && lo > hi) {
        const cl = mine[lo]!;
        if (!(r[cols.colT[ch]!]! > r[cols.colT[cl]!]!)) {
          lo = hi;
          break;
        }
        if (!(plan[cl]! > 1e-12)) {
          lo--;
          continue;
        }
        // Energy moved: what the giver has, or what the taker has room for.
        const kwh = Math.min(plan[cl]! * cols.colA[cl]!, free * cols.colA[ch]!);
        add(cl, -kwh / cols.colA[cl]!);
        add(ch, kwh / cols.colA[ch]!);
        gained += kwh * (r[cols.colT[ch]!]! - r[cols.colT[cl]!]!);
        free = room(ch);
        if (!(plan[cl]! > 1e-12)) {
          plan[cl] = 0;
          lo--;
        }
      }
    }
  }
  return gained;
}
