import type { Problem } from '../prepare.ts';
import type { AreaRange } from '../topology.ts';
import type { AreaColumns } from '../lp/columns.ts';
import { requiredNodes } from '../v2g.ts';

/**
 * Required export in the priority solver (docs/optimizer.md, "V2G and export"), second part: what
 * `exportBeforeCharging` (below) could not plan before charging. After the charging plan is written,
 * every (node, interval) whose envelope asks for export (importKw < 0; no charging there, the
 * import limit is 0) and is still short is served greedily from the V2G sessions below it, nodes deeper
 * in the tree first (an ancestor's request counts what they already export), the session with the most
 * SoC above its min SoC (from that interval to its departure) first. Each session:
 * 1. exports up to its discharge bound, the export headroom on its path and what keeps its SoC at or
 *    above the min SoC for the rest of its stay;
 * 0. (once, when it first becomes a candidate) its charging under its min power is set to 0: the
 *    min-power drop after the solve would remove it, and a discharge planned on the SoC it gave would
 *    then be cut by the SoC-safe rounding;
 * 2. when its SoC is what stops it, first charges more in the intervals before (latest first, within its
 *    max power, the import headroom on its path and its capacity until then), as much as it then exports,
 *    in steps of at least its min power; where a limit on its path is full, sessions that never discharge
 *    give way (`steal`); a step at the min power that puts in more than the export takes out is balanced
 *    by lowering its later charging where its net energy would exceed its need (`trimLater`);
 * 3. charges back what it exported, net of step 2, in the intervals after (earliest first, same bounds),
 *    so its need is met again where headroom allows.
 * Every step keeps every bound and limit (headroom is tracked as it is used), the SoC within [min SoC,
 * capacity] and the net energy at or under the need, so the plan stays feasible; what no session can give
 * stays a shortfall, reported as a violation. Price arbitrage is not planned here.
 * Writes into `plan`; returns the kWh discharged.
 */
export function requiredExportPass(p: Problem, area: AreaRange, cols: AreaColumns, plan: Float64Array): number {
  const { count: T, tree, minExport, exportLim, lim, dtH } = p;
  const nD = cols.disEvse.length;
  if (nD === 0) return 0;
  // Nodes of this area with a required export, deepest first (reverse preorder).
  const asked = requiredNodes(p).filter((n) => tree.pos[n]! >= area.lo && tree.pos[n]! < area.hi).reverse();
  if (asked.length === 0) return 0;
  /** Discharge column of (EVSE e, interval t) at `disAt[(e − evLo) * T + t]`, or -1. */
  const disAt = new Int32Array((area.evHi - area.evLo) * T).fill(-1);
  for (let c = 0; c < nD; c++) disAt[(cols.disEvse[c]! - area.evLo) * T + cols.disT[c]!] = c;
  /** Gross discharge so far under each node `[node * T + t]`, for the export headroom. */
  const out = new Float64Array(tree.nodes.length * T);
  const imp = importTracker(p, area, plan);
  // Charging the plan has under a V2G session's min power is dropped after the solve anyway (the charger
  // cannot run there); the SoC floors below must not count on it, or the drop undoes the discharge planned
  // on top of it (settleV2g cuts it at the floor). Done for a session when it first becomes a candidate,
  // not for every V2G session: the drop is followed by a top-up that moves the energy elsewhere, while
  // here it was lost from the plan (75 of the 190 kWh the plan missed against the LP at 1000 V2G sites).
  const settled = new Uint8Array(area.evHi - area.evLo);
  const settleMin = (e: number): void => {
    const s = p.session[e]!;
    if (settled[e - area.evLo] || !(s.minKw > 0)) return;
    settled[e - area.evLo] = 1;
    for (let u = s.t0; u < s.t1; u++) {
      const x = plan[e * T + u]!;
      if (x > 0 && x < s.minKw) {
        plan[e * T + u] = 0;
        imp.add(e, u, -x);
      }
    }
  };

  /** SoC after each interval of the session's stay, `[u − t0]`, from the current plan. */
  const trajectory = (e: number): Float64Array => {
    const s = p.session[e]!;
    const soc = new Float64Array(s.t1 - s.t0);
    let x = s.v2g!.socKwh;
    for (let u = s.t0; u < s.t1; u++) {
      x += plan[e * T + u]! * dtH * s.frac[u]!;
      soc[u - s.t0] = x;
    }
    return soc;
  };
  /** SoC above the min SoC, at its lowest from interval t to departure (kWh). */
  const socRoom = (e: number, t: number): number => {
    const s = p.session[e]!;
    const soc = trajectory(e);
    let low = Number.POSITIVE_INFINITY;
    for (let u = t; u < s.t1; u++) low = Math.min(low, soc[u - s.t0]!);
    return Math.max(0, low - s.v2g!.minSocKwh);
  };
  const exportHead = (e: number, t: number): number => {
    let h = Number.POSITIVE_INFINITY;
    for (let n = tree.evseNode[e]!; n >= 0; n = tree.parent[n]!) h = Math.min(h, exportLim[n * T + t]! - out[n * T + t]!);
    return h;
  };
  /** Whether a session's plan has a discharge (its SoC floor then depends on its charging). */
  const discharges = (e: number): boolean => {
    const s = p.session[e]!;
    for (let u = s.t0; u < s.t1; u++) if (plan[e * T + u]! < 0) return true;
    return false;
  };
  /**
   * Frees import headroom for (e, u) by lowering the charging of other sessions under the limits on its
   * path that are short of `kw` (a required export outranks their energy: 100 000 vs ~1000 per kWh).
   * Only sessions that never discharge give way (lowering their charging cannot break a SoC floor); a
   * value lowered under its min power goes to 0. Only lowers setpoints, so every limit still holds.
   */
  const stolen: [number, number][] = [];
  const steal = (e: number, u: number, kw: number): void => {
    for (let n = tree.evseNode[e]!; n >= 0; n = tree.parent[n]!) {
      let short = kw - imp.nodeHead(n, u);
      for (let x = tree.evLo[n]!; x < tree.evHi[n]! && short > 1e-9; x++) {
        const k = x * T + u;
        if (x === e || !(plan[k]! > 0) || discharges(x)) continue;
        const sx = p.session[x];
        let v = Math.max(0, plan[k]! - short);
        if (sx && v < sx.minKw) v = 0;
        imp.add(x, u, v - plan[k]!);
        short -= plan[k]! - v;
        stolen.push([k, plan[k]! - v]);
        plan[k] = v;
      }
    }
  };
  /**
   * Raises charging at (e, u) by up to `kw` within its max, min power and import headroom; returns the
   * raise. `upTo` (kW, ≥ kw): when the raise would leave the setpoint under the min power, it may go up
   * to the min if that is within `upTo` (and other sessions give way for it when `take`).
   */
  const charge = (e: number, u: number, kw: number, take = false, upTo = kw): number => {
    const s = p.session[e]!;
    const k = e * T + u;
    if (plan[k]! < 0 || !(s.frac[u]! > 0)) return 0;
    const toMin = Math.max(0, s.minKw - plan[k]!);
    const asked = Math.min(s.maxKw - plan[k]!, Math.max(kw, toMin <= upTo ? toMin : 0));
    // A little more than asked: headroom freed to exactly the min power can come out 1e-13 under it after
    // the subtractions, and the raise to the min would then fail (measured: 9 of the 20 misses at 1000 sites).
    if (take) steal(e, u, asked + 1e-6);
    const room = Math.min(s.maxKw - plan[k]!, imp.head(e, u, lim));
    let v = Math.min(kw, room);
    if (plan[k]! + v < s.minKw && toMin <= Math.min(upTo, room)) v = toMin;
    if (!(v > 1e-9) || plan[k]! + v < s.minKw) return 0;
    plan[k] = plan[k]! + v;
    imp.add(e, u, v);
    return v;
  };

  /**
   * After a pre-charge of `kwh` more than the export at t takes out: keeps the session's net energy at or
   * under its need by lowering its charging after t by what it would exceed the need (latest first, each
   * setpoint to 0 or at least its min power; nothing when the need has room for the extra kWh), keeping
   * its SoC within [min SoC, capacity] over the whole stay. Returns false, with nothing changed, when that
   * is not possible. Only lowers charging: every import limit still holds.
   */
  const trimLater = (e: number, t: number, kwh: number): boolean => {
    const s = p.session[e]!;
    const cut: [number, number][] = [];
    let net = 0;
    for (let u = s.t0; u < s.t1; u++) net += plan[e * T + u]! * dtH * s.frac[u]!;
    let left = Math.min(kwh, Math.max(0, net - s.energyKwh));
    for (let u = s.t1 - 1; u > t && left > 1e-9; u--) {
      const k = e * T + u;
      const au = dtH * s.frac[u]!;
      if (!(plan[k]! > 0) || !(au > 0)) continue;
      let x = Math.min(plan[k]!, left / au);
      // Under the min power the charger must be off: cut to the min, or to 0 when all of it may go.
      if (plan[k]! - x < s.minKw && plan[k]! - x > 0) x = plan[k]! - s.minKw > 0 && plan[k]! - s.minKw <= left / au ? plan[k]! - s.minKw : 0;
      if (!(x > 0)) continue;
      plan[k] = plan[k]! - x;
      cut.push([u, x]);
      left -= x * au;
    }
    const soc = trajectory(e);
    let ok = left <= 1e-9;
    for (let i = 0; ok && i < soc.length; i++) ok = soc[i]! <= s.v2g!.capacityKwh + 1e-9 && soc[i]! >= s.v2g!.minSocKwh - 1e-9;
    for (const [u, x] of cut) {
      if (ok) imp.add(e, u, -x);
      else plan[e * T + u] = plan[e * T + u]! + x;
    }
    return ok;
  };

  let kwh = 0;
  for (let t = 0; t < T; t++) {
    for (const n of asked) {
      const required = minExport[n * T + t]!;
      if (!(required > 0)) continue;
      const lo = tree.evLo[n]!;
      const hi = tree.evHi[n]!;
      let net = 0;
      for (let e = lo; e < hi; e++) net += plan[e * T + t]!;
      let need = required + net;
      if (!(need > 1e-9)) continue;
      const cand: number[] = [];
      for (let e = lo; e < hi; e++) {
        const c = disAt[(e - area.evLo) * T + t]!;
        if (c >= 0 && plan[e * T + t]! === 0) {
          settleMin(e);
          cand.push(c);
        }
      }
      const room = new Map<number, number>();
      for (const c of cand) room.set(c, socRoom(cols.disEvse[c]!, t));
      cand.sort((a, b) => room.get(b)! - room.get(a)! || a - b);
      for (const c of cand) {
        if (!(need > 1e-9)) break;
        const e = cols.disEvse[c]!;
        const s = p.session[e]!;
        const a = cols.disA[c]!;
        const wanted = Math.min(cols.disUb[c]!, exportHead(e, t), need);
        // Step 2: charge before, latest first, what the SoC floor would otherwise withhold.
        const raised: [number, number][] = [];
        stolen.length = 0;
        let deficit = wanted * a - room.get(c)!;
        if (deficit > 1e-9) {
          const soc = trajectory(e);
          let capRoom = Number.POSITIVE_INFINITY;
          for (let u = t - 1; u >= s.t0 && deficit > 1e-9; u--) {
            capRoom = Math.min(capRoom, s.v2g!.capacityKwh - soc[u - s.t0]!);
            const au = dtH * s.frac[u]!;
            if (!(au > 0) || !(capRoom > 1e-9)) continue;
            // Up to the min power if need be: what the export does not take back out is trimmed from the
            // session's later charging (`trimLater`), or the whole step is undone.
            const v = charge(e, u, Math.min(capRoom, deficit) / au, true, Math.min(capRoom, room.get(c)! + deficit + s.minKw * au) / au);
            if (v > 0) {
              raised.push([u, v]);
              deficit -= v * au;
              capRoom -= v * au;
            }
          }
        }
        const pre = raised.reduce((sum, [u, v]) => sum + v * dtH * s.frac[u]!, 0);
        const most = Math.min(cols.disUb[c]!, exportHead(e, t), socRoom(e, t) / a);
        let v = Math.min(most, need);
        // Under the min power the charger cannot run: export at the min if that is within every bound.
        if (v < s.minKw) v = s.minKw <= most ? s.minKw : 0;
        let trimmed = false;
        if (v > 0 && v * a < pre - 1e-9) {
          // Charged more before than the export takes out (a step at the min power): lower the session's
          // charging after t by the difference, so its net energy stays the same.
          plan[e * T + t] = -v;
          trimmed = trimLater(e, t, pre - v * a);
          if (!trimmed) plan[e * T + t] = 0;
        }
        if (!trimmed && (!(v > 0) || v * a < pre - 1e-9)) {
          // Exporting less than was charged for it would raise the net energy: undo the extra charging.
          for (const [u, x] of raised) {
            plan[e * T + u] = plan[e * T + u]! - x;
            imp.add(e, u, -x);
          }
          // And give back what other sessions gave way with (the headroom is free again).
          for (const [k, x] of stolen) {
            plan[k] = plan[k]! + x;
            imp.add(Math.floor(k / T), k % T, x);
          }
          if (!(v > 0)) continue;
          v = Math.min(v, socRoom(e, t) / a);
          if (v < s.minKw || !(v > 0)) continue;
        }
        const kept = trimmed ? v * a : v * a < pre - 1e-9 ? 0 : pre;
        plan[e * T + t] = -v;
        for (let m = tree.evseNode[e]!; m >= 0; m = tree.parent[m]!) out[m * T + t]! += v;
        need -= v;
        kwh += v * a;
        // Step 3: charge back, earliest first, what was exported net of step 2, within the capacity.
        let back = v * a - kept;
        for (let u = t + 1; u < s.t1 && back > 1e-9; u++) {
          const au = dtH * s.frac[u]!;
          if (!(au > 0)) continue;
          const soc = trajectory(e);
          let capRoom = Number.POSITIVE_INFINITY;
          for (let w = u; w < s.t1; w++) capRoom = Math.min(capRoom, s.v2g!.capacityKwh - soc[w - s.t0]!);
          if (!(capRoom > 1e-9)) continue;
          back -= charge(e, u, Math.min(capRoom, back) / au) * au;
        }
      }
    }
  }
  return kwh;
}

/**
 * Required export planned before the charging plan (docs/optimizer.md, "V2G and export"): each (node,
 * interval) asking for export, in time order, deeper nodes first, is served whole by one V2G session
 * below it, the one with the most charging capacity to spare (Σ a · ub over its charge columns − need −
 * what it already gives) first, so the energy it gives can be charged back where the area has headroom.
 * Where its SoC above the min SoC is short, it is first charged that much in the intervals before (latest
 * first, each step within its column's bound and the headroom on its path, at least its min power): that
 * charging is fixed, taken out of `lim` and `colUb` (copies the caller owns) and written into `plan`.
 * The charging plan is then solved on what is left, with each such session's need changed by `extra`
 * (kWh by session index of `cols.sessions`: + what it gives − its fixed charging), so the recharge
 * competes for headroom with every other session on equal terms instead of taking only what a finished
 * plan left over. Measured at 1000 V2G sites: after the charging plan alone (`requiredExportPass`),
 * 212 of the 835 kWh discharged were charged back, 8.6 % above the LP optimum.
 * Feasible whatever the charging plan adds: with Q the session's discharge and D its fixed charging, each
 * discharge is placed only while soc + D (all before it) − Q ≥ min SoC; and soc + need + Q ≤ capacity
 * with D ≤ need + Q, so its charging (D plus at most need + Q − D) never lifts the SoC over the capacity
 * and the net energy stays at or under the need. Discharge only where the interval has no charge column
 * (a required export caps import under the node at 0). Returns the kWh discharged; what is left is for
 * `requiredExportPass`.
 */
export function exportBeforeCharging(p: Problem, area: AreaRange, cols: AreaColumns, plan: Float64Array, extra: Float64Array, lim: Float64Array, colUb: Float64Array): number {
  const { count: T, tree, minExport, exportLim } = p;
  const nD = cols.disEvse.length;
  if (nD === 0) return 0;
  const asked = requiredNodes(p).filter((n) => tree.pos[n]! >= area.lo && tree.pos[n]! < area.hi).reverse();
  if (asked.length === 0) return 0;
  const nE = area.evHi - area.evLo;
  const disAt = new Int32Array(nE * T).fill(-1);
  for (let c = 0; c < nD; c++) disAt[(cols.disEvse[c]! - area.evLo) * T + cols.disT[c]!] = c;
  const colAt = new Int32Array(nE * T).fill(-1);
  /** Charging capacity of each session to spare beyond its need, kWh (by session index). */
  const spare = new Float64Array(cols.sessions.length);
  for (let c = 0; c < cols.colEvse.length; c++) {
    colAt[(cols.colEvse[c]! - area.evLo) * T + cols.colT[c]!] = c;
    spare[cols.sessionOf[c]!]! += cols.colA[c]! * cols.colUb[c]!;
  }
  cols.sessions.forEach((e, s) => (spare[s]! -= p.session[e]!.energyKwh));
  /** Per session: discharge Q and fixed charging D so far (kWh). */
  const given = new Float64Array(cols.sessions.length);
  const fixed = new Float64Array(cols.sessions.length);
  /** Per session: its last discharge interval so far. */
  const last = new Int32Array(cols.sessions.length);
  const out = new Float64Array(tree.nodes.length * T);
  const exportHead = (e: number, t: number): number => {
    let h = Number.POSITIVE_INFINITY;
    for (let n = tree.evseNode[e]!; n >= 0; n = tree.parent[n]!) h = Math.min(h, exportLim[n * T + t]! - out[n * T + t]!);
    return h;
  };
  const importHead = (e: number, t: number): number => {
    let h = Number.POSITIVE_INFINITY;
    for (let n = tree.evseNode[e]!; n >= 0; n = tree.parent[n]!) h = Math.min(h, lim[n * T + t]!);
    return h;
  };
  const setCharge = (c: number, kw: number): void => {
    const e = cols.colEvse[c]!;
    const t = cols.colT[c]!;
    plan[e * T + t]! += kw;
    colUb[c]! -= kw;
    for (let n = tree.evseNode[e]!; n >= 0; n = tree.parent[n]!) lim[n * T + t]! -= kw;
  };
  let kwh = 0;
  const cand: number[] = [];
  const steps: [number, number][] = [];
  for (let t = 0; t < T; t++) {
    for (const n of asked) {
      const required = minExport[n * T + t]!;
      if (!(required > 0)) continue;
      let need = required;
      for (let e = tree.evLo[n]!; e < tree.evHi[n]!; e++) need += Math.min(0, plan[e * T + t]!);
      if (!(need > 1e-9)) continue;
      cand.length = 0;
      for (let e = tree.evLo[n]!; e < tree.evHi[n]!; e++) {
        const c = disAt[(e - area.evLo) * T + t]!;
        if (c >= 0 && plan[e * T + t] === 0 && colAt[(e - area.evLo) * T + t]! < 0) cand.push(c);
      }
      const left = (c: number): number => spare[cols.disSessionOf[c]!]! - given[cols.disSessionOf[c]!]!;
      /** SoC above the min SoC with no charging but the fixed one: the less pre-charging it needs, the better. */
      const socRoom = (c: number): number => {
        const si = cols.disSessionOf[c]!;
        const v = p.session[cols.disEvse[c]!]!.v2g!;
        return v.socKwh - v.minSocKwh + fixed[si]! - given[si]!;
      };
      cand.sort((a, b) => left(b) - left(a) || socRoom(b) - socRoom(a) || a - b);
      for (const c of cand) {
        const e = cols.disEvse[c]!;
        const s = p.session[e]!;
        const v2g = s.v2g!;
        const si = cols.disSessionOf[c]!;
        const a = cols.disA[c]!;
        // Whole requests only (at the min power if it is under it): a part would leave the rest to
        // sessions that may each need a step at their min power (9 requests missed at 1000 sites).
        const v = Math.max(need, s.minKw);
        if (v > Math.min(cols.disUb[c]!, exportHead(e, t)) + 1e-12) continue;
        const q = v * a;
        let deficit = given[si]! + q - fixed[si]! - (v2g.socKwh - v2g.minSocKwh);
        steps.length = 0;
        for (let u = t - 1; u >= s.t0 && deficit > 1e-9; u--) {
          const k = colAt[(e - area.evLo) * T + u]!;
          if (k < 0) continue;
          const au = cols.colA[k]!;
          const room = Math.min(colUb[k]!, importHead(e, u));
          // A cell already fixed is at its min power or more: any raise keeps it there.
          const at = plan[e * T + u]! > 0 ? 0 : s.minKw;
          const x = Math.max(Math.min(room, deficit / au), at);
          if (!(x > 1e-9) || x > room) continue;
          steps.push([k, x]);
          setCharge(k, x);
          deficit -= x * au;
        }
        const d = steps.reduce((sum, [k, x]) => sum + x * cols.colA[k]!, 0);
        if (deficit > 1e-9 || fixed[si]! + d > s.energyKwh + given[si]! + q || v2g.socKwh + fixed[si]! + d > v2g.capacityKwh + 1e-9) {
          for (const [k, x] of steps) setCharge(k, -x);
          continue;
        }
        plan[e * T + t] = -v;
        for (let m = tree.evseNode[e]!; m >= 0; m = tree.parent[m]!) out[m * T + t]! += v;
        given[si]! += q;
        fixed[si]! += d;
        extra[si]! += q - d;
        kwh += q;
        last[si] = t;
        break;
      }
    }
  }
  // The SoC ceiling: where soc + need + Q ≤ capacity, no placement of the session's charging (at most
  // need + Q in all) can pass it. Otherwise its charging before its last discharge is bounded: the bounds
  // of those columns, earliest first, are kept while their sum (kWh) with the fixed charging stays within
  // capacity − soc, the first one past it is cut to what is left (closed under the min power unless it
  // is fixed) and the later ones closed. Earliest first, as the tie-breaker ranks intervals; scaling every
  // bound by the same factor instead put them all under the min power (a session losing 27.9 kWh on a
  // 30-site instance). After the last discharge the SoC only rises, to at most soc + need.
  cols.sessions.forEach((e, si) => {
    const s = p.session[e]!;
    const v2g = s.v2g;
    if (!v2g || !(given[si]! > 0) || v2g.socKwh + s.energyKwh + given[si]! <= v2g.capacityKwh) return;
    let budget = Math.max(0, v2g.capacityKwh - v2g.socKwh - fixed[si]!);
    for (let u = s.t0; u < last[si]!; u++) {
      const k = colAt[(e - area.evLo) * T + u]!;
      if (k < 0) continue;
      const a = cols.colA[k]!;
      const ub = Math.min(Math.max(0, colUb[k]!), budget / a);
      colUb[k] = ub < s.minKw && !(plan[e * T + u]! > 0) ? 0 : ub;
      budget = Math.max(0, budget - colUb[k]! * a);
    }
  });
  return kwh;
}

/**
 * Gross charging under the area's nodes that have an import limit somewhere in the horizon, so the
 * import headroom on an EVSE's path can be read and updated without summing subtrees again.
 */
function importTracker(p: Problem, area: AreaRange, plan: Float64Array): {
  head: (e: number, t: number, lim: Float64Array) => number;
  nodeHead: (n: number, t: number) => number;
  add: (e: number, t: number, kw: number) => void;
} {
  const { count: T, tree, lim } = p;
  const local = new Map<number, number>();
  for (let q = area.lo; q < area.hi; q++) {
    const n = tree.preorder[q]!;
    for (let t = 0; t < T; t++) {
      if (lim[n * T + t]! !== Number.POSITIVE_INFINITY) {
        local.set(n, local.size);
        break;
      }
    }
  }
  const used = new Float64Array(local.size * T);
  for (const [n, i] of local) {
    for (let e = tree.evLo[n]!; e < tree.evHi[n]!; e++) {
      for (let t = 0; t < T; t++) {
        const v = plan[e * T + t]!;
        if (v > 0) used[i * T + t]! += v;
      }
    }
  }
  return {
    head: (e, t, limits) => {
      let h = Number.POSITIVE_INFINITY;
      for (let n = tree.evseNode[e]!; n >= 0; n = tree.parent[n]!) {
        const i = local.get(n);
        if (i !== undefined) h = Math.min(h, limits[n * T + t]! - used[i * T + t]!);
      }
      return h;
    },
    nodeHead: (n, t) => {
      const i = local.get(n);
      return i === undefined ? Number.POSITIVE_INFINITY : lim[n * T + t]! - used[i * T + t]!;
    },
    add: (e, t, kw) => {
      for (let n = tree.evseNode[e]!; n >= 0; n = tree.parent[n]!) {
        const i = local.get(n);
        if (i !== undefined) used[i * T + t]! += kw;
      }
    },
  };
}

/** Whether an area has anything V2G (discharge columns or a required export): the priority bound does not cover it. */
export function areaHasV2g(p: Problem, area: AreaRange, cols: AreaColumns): boolean {
  if (cols.disEvse.length > 0) return true;
  return requiredNodes(p).some((n) => p.tree.pos[n]! >= area.lo && p.tree.pos[n]! < area.hi);
}
