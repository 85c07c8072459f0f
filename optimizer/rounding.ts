import type { Problem } from './prepare.ts';

/**
 * Floor to 0.001 kW. Flooring (never rounding up) keeps every sum of setpoints at or under the limit it
 * was computed against. The 1e-9 (in thousandths) absorbs representation noise, so 3.3 stays 3.3 instead
 * of becoming 3.299; it can add at most 1e-12 kW per value.
 */
export function floorKw(x: number): number {
  return x > 0 ? Math.floor(x * 1000 + 1e-9) / 1000 : 0;
}

/**
 * Sets to 0, in place, every planned value under its session's min power: an LP cannot express "0 or at
 * least min", and going down to 0 never breaks a limit. Returns how many positive values were turned off.
 */
export function dropBelowMin(p: Problem, plan: Float64Array): number {
  const T = p.count;
  let dropped = 0;
  p.session.forEach((s, e) => {
    if (!s) return;
    for (let t = s.t0; t < s.t1; t++) {
      const k = e * T + t;
      const v = Math.min(plan[k]!, s.maxKw);
      if (v > 0 && v >= s.minKw - 1e-9) {
        plan[k] = v;
        continue;
      }
      if (v > 1e-6) dropped++;
      plan[k] = 0;
    }
  });
  return dropped;
}

/**
 * Setpoints from the plan: floored to 0.001 kW. A value that sits at its min power up to float noise is
 * kept at the min rather than floored under it (at most 1e-9 kW above the plan).
 */
export function floorSetpoints(p: Problem, plan: Float64Array): Float64Array {
  const T = p.count;
  const kw = new Float64Array(plan.length);
  p.session.forEach((s, e) => {
    if (!s) return;
    for (let t = s.t0; t < s.t1; t++) {
      const v = plan[e * T + t]!;
      if (!(v > 0)) continue;
      const f = floorKw(v);
      kw[e * T + t] = f >= s.minKw ? f : v >= s.minKw - 1e-9 ? s.minKw : 0;
    }
  });
  return kw;
}

/**
 * Last line of defence against solver tolerances: wherever the setpoints under a node exceed its limit,
 * scale them down (and drop those that fall under their min power). The LP normally leaves nothing to do.
 * Returns the number of setpoints changed.
 */
export function enforceLimits(p: Problem, kw: Float64Array): number {
  const { count: T, tree, lim } = p;
  const used = new Float64Array(tree.nodes.length);
  let changed = 0;
  for (let t = 0; t < T; t++) {
    for (let guard = 0; guard < tree.preorder.length + 1; guard++) {
      sumUnder(p, kw, t, used);
      const n = firstOver(p, t, used);
      if (n < 0) break;
      const limit = lim[n * T + t]!;
      const factor = used[n]! > 0 ? Math.max(0, limit - 1e-6) / used[n]! : 0;
      for (let e = tree.evLo[n]!; e < tree.evHi[n]!; e++) {
        const k = e * T + t;
        const old = kw[k]!;
        if (old === 0) continue;
        let v = Math.floor(old * factor * 1000) / 1000;
        if (v < (p.session[e]?.minKw ?? 0)) v = 0;
        kw[k] = v;
        changed++;
      }
    }
  }
  return changed;
}

function firstOver(p: Problem, t: number, used: Float64Array): number {
  for (const n of p.tree.preorder) {
    if (used[n]! > p.lim[n * p.count + t]! + 1e-9) return n;
  }
  return -1;
}

/**
 * `used[n]` = Σ values[e * count + t] over the EVSEs under each reachable node n. Children come after their
 * parent in preorder, so one backward pass that adds each node into its parent sums every subtree.
 */
export function sumUnder(p: Problem, values: Float64Array, t: number, used: Float64Array): void {
  const { tree, count: T } = p;
  const pre = tree.preorder;
  for (let q = 0; q < pre.length; q++) {
    const n = pre[q]!;
    const e = tree.evseOf[n]!;
    used[n] = e >= 0 ? values[e * T + t]! : 0;
  }
  for (let q = pre.length - 1; q >= 0; q--) {
    const n = pre[q]!;
    const parent = tree.parent[n]!;
    if (parent >= 0) used[parent]! += used[n]!;
  }
}
