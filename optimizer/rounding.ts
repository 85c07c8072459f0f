import type { Problem } from './prepare.ts';

/**
 * Floor to 0.001 kW. Flooring (never rounding up) keeps every sum of setpoints at or under the limit it
 * was computed against. The 1e-9 (in thousandths) absorbs representation noise, so 3.3 stays 3.3 instead
 * of becoming 3.299; it can add at most 1e-12 kW per value.
 */
export function floorKw(x: number): number {
  return x > 0 ? Math.floor(x * 1000 + 1e-9) / 1000 : 0;
}

/** Magnitude floored to 0.001 kW; one at its min power up to float noise stays at the min, one under it is 0. */
function floorMagnitude(x: number, min: number): number {
  if (!(x > 0)) return 0;
  const f = floorKw(x);
  return f >= min ? f : x >= min - 1e-9 ? min : 0;
}

/**
 * Sets to 0, in place, every planned value whose magnitude is under its session's min power (charging or
 * discharging): an LP cannot express "0 or at least min", and going down to 0 never breaks a node limit
 * (a V2G session's SoC trajectory is settled afterwards, see settleV2g). Returns how many values were
 * turned off.
 */
export function dropBelowMin(p: Problem, plan: Float64Array): number {
  const T = p.count;
  let dropped = 0;
  p.session.forEach((s, e) => {
    if (!s) return;
    for (let t = s.t0; t < s.t1; t++) {
      const k = e * T + t;
      if (plan[k]! < 0) {
        // Discharge: the LP bounds it by the V2G max already.
        if (-plan[k]! >= s.minKw - 1e-9) continue;
        if (plan[k]! < -1e-6) dropped++;
        plan[k] = 0;
        continue;
      }
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
 * kept at the min rather than floored under it (at most 1e-9 kW above the plan). V2G sessions are settled
 * along their SoC trajectory instead (settleV2g), magnitudes rounded towards 0 as well.
 */
export function floorSetpoints(p: Problem, plan: Float64Array): Float64Array {
  const T = p.count;
  const kw = new Float64Array(plan.length);
  p.session.forEach((s, e) => {
    if (!s) return;
    if (s.v2g) {
      if (!settleV2g(p, e, plan, kw)) p.reasons.add(`session ${s.demand.sessionId}: its discharge did not survive rounding within the SoC bounds and net energy, so it only charges`);
      return;
    }
    for (let t = s.t0; t < s.t1; t++) kw[e * T + t] = floorMagnitude(plan[e * T + t]!, s.minKw);
  });
  return kw;
}

/**
 * Setpoints of one V2G session from `src` into `out`, so that every bound of its SoC trajectory holds on
 * the rounded values (verifyAllocation checks them with 1e-6 kWh tolerance, a rounding step is 0.00025
 * kWh): one pass in time order, magnitudes floored to 0.001 kW (so no node limit can be exceeded) and
 * cut where needed:
 * - a discharge to what keeps the SoC at or above minSoc;
 * - a charge to what keeps the SoC at or under the capacity, and at or under socKwh + need + the
 *   (floored) discharge still planned after it, so the net energy ends at or under the need;
 * - anything cut under the min power to 0.
 * Only when a discharge was cut at the very end can the net still exceed the need (by < 0.00025 kWh); then
 * the session is settled without discharge (returns false). Only cuts, never raises: safe to run again.
 */
export function settleV2g(p: Problem, e: number, src: Float64Array, out: Float64Array): boolean {
  const s = p.session[e]!;
  const v = s.v2g!;
  const T = p.count;
  const after = new Float64Array(s.t1 - s.t0 + 1);
  for (let t = s.t1 - 1; t >= s.t0; t--) {
    const x = src[e * T + t]!;
    after[t - s.t0] = after[t - s.t0 + 1]! + (x < 0 ? floorMagnitude(-x, s.minKw) * p.dtH * s.frac[t]! : 0);
  }
  const run = (discharge: boolean): number => {
    let soc = v.socKwh;
    for (let t = s.t0; t < s.t1; t++) {
      const k = e * T + t;
      const a = p.dtH * s.frac[t]!;
      const x = src[k]!;
      out[k] = 0;
      if (!(a > 0) || x === 0) continue;
      if (x < 0) {
        if (!discharge) continue;
        const q = Math.min(floorMagnitude(-x, s.minKw), floorKw((soc - v.minSocKwh) / a));
        if (!(q > 0) || q < s.minKw) continue;
        out[k] = -q;
        soc -= q * a;
      } else {
        const ceiling = Math.min(v.capacityKwh, v.socKwh + s.energyKwh + (discharge ? after[t - s.t0 + 1]! : 0));
        const x1 = Math.min(floorMagnitude(x, s.minKw), floorKw((ceiling - soc) / a));
        if (!(x1 > 0) || x1 < s.minKw) continue;
        out[k] = x1;
        soc += x1 * a;
      }
    }
    return soc - v.socKwh;
  };
  if (run(true) <= s.energyKwh + 1e-9) return true;
  run(false);
  return false;
}

/**
 * Last line of defence against solver tolerances: wherever the charging under a node exceeds its import
 * limit, or the discharging its export limit (both gross), scale those setpoints down towards 0 (and drop
 * those that fall under their min power). The LP normally leaves nothing to do. V2G sessions touched are
 * settled again (settleV2g only cuts, so no limit is broken again). Returns the number of setpoints changed.
 */
export function enforceLimits(p: Problem, kw: Float64Array): number {
  const { count: T, tree } = p;
  const used = new Float64Array(tree.nodes.length);
  let changed = 0;
  const touched = new Set<number>();
  for (const side of [1, -1] as const) {
    const limits = side > 0 ? p.lim : p.exportLim;
    if (limits.length === 0) continue;
    for (let t = 0; t < T; t++) {
      for (let guard = 0; guard < tree.preorder.length + 1; guard++) {
        sumUnder(p, kw, t, used, side > 0 ? 'import' : 'export');
        const n = firstOver(p, limits, t, used);
        if (n < 0) break;
        const limit = limits[n * T + t]!;
        const factor = used[n]! > 0 ? Math.max(0, limit - 1e-6) / used[n]! : 0;
        for (let e = tree.evLo[n]!; e < tree.evHi[n]!; e++) {
          const k = e * T + t;
          const old = kw[k]! * side;
          if (!(old > 0)) continue;
          let v = Math.floor(old * factor * 1000) / 1000;
          if (v < (p.session[e]?.minKw ?? 0)) v = 0;
          kw[k] = v * side;
          changed++;
          if (p.session[e]?.v2g) touched.add(e);
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

function firstOver(p: Problem, limits: Float64Array, t: number, used: Float64Array): number {
  for (const n of p.tree.preorder) {
    if (used[n]! > limits[n * p.count + t]! + 1e-9) return n;
  }
  return -1;
}

/**
 * `used[n]` = Σ values[e * count + t] over the EVSEs under each reachable node n. Children come after their
 * parent in preorder, so one backward pass that adds each node into its parent sums every subtree.
 * `part`: 'net' sums the values as they are; 'import' only the positive ones (gross charging); 'export'
 * the magnitudes of the negative ones (gross discharging): limits apply to each direction gross.
 */
export function sumUnder(p: Problem, values: Float64Array, t: number, used: Float64Array, part: 'net' | 'import' | 'export' = 'net'): void {
  const { tree, count: T } = p;
  const pre = tree.preorder;
  const sign = part === 'export' ? -1 : 1;
  for (let q = 0; q < pre.length; q++) {
    const n = pre[q]!;
    const e = tree.evseOf[n]!;
    const v = e >= 0 ? values[e * T + t]! * sign : 0;
    used[n] = part === 'net' || v > 0 ? v : 0;
  }
  for (let q = pre.length - 1; q >= 0; q--) {
    const n = pre[q]!;
    const parent = tree.parent[n]!;
    if (parent >= 0) used[parent]! += used[n]!;
  }
}
