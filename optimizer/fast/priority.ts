import { PRIORITY_BONUS, UNMET_PENALTY, type Problem } from '../prepare.ts';
import type { AreaRange } from '../topology.ts';
import type { AreaColumns } from '../lp/columns.ts';
import { indexArea, sessionPass, shiftWithinSessions } from './area-index.ts';
import { areaHasV2g, exportBeforeCharging, requiredExportPass } from './export-pass.ts';

/**
 * The priority solver: the same LP as lp/build.ts (same columns, rows and objective), solved by
 * Lagrangian relaxation of the per-session energy rows instead of the simplex.
 *
 * In max form the LP is  V* = max Σ_c (w_s + r_t) · a_c · p_c  over
 *   Σ_{c of s} a_c · p_c ≤ E_s  (energy rows)  and, per interval t,  p_t ∈ P_t = {0 ≤ p ≤ ub, Σ_{c under n} p_c ≤ L[n][t]}.
 * (The LP minimises Σ_s w_s · E_s − V.) Pricing each energy row with μ_s ≥ 0 gives the bound
 *   V* ≤ B(μ) = Σ_s μ_s · E_s + Σ_t max_{p ∈ P_t} Σ_c (w_s + r_t − μ_s) · a_c · p_c.
 * P_t is a polymatroid (box plus a laminar family: the tree), so each inner max is solved exactly by the
 * greedy: columns by value per kW, highest first, each as high as its bound and the headroom on its path
 * allow (Edmonds). B(μ) is therefore a valid upper bound for any μ, and is minimised by subgradient steps
 * (Polyak, towards the best primal value).
 *
 * Primals (plans); (0)–(2) fill intervals in time order, each session clipped to the energy it still needs:
 * (0) least laxity first, once (with priority sessions, after the iterations, also: they first in a pass
 * of their own, forward or backward in time, then the rest); (1) per iteration, by the priced keys; (2) every 4th iteration, the average
 * of the relaxed solutions (a convex combination, so within every limit) cut to each session's energy and
 * topped up; (3) once, session by session (least laxity first), each in its most valuable intervals.
 * Every value respects its bound and every node limit by construction (headroom is subtracted as it is
 * handed out), so each plan is feasible; the best is kept, and a last pass moves each session's energy to
 * its more valuable intervals where headroom allows. The result carries the proven gap
 * B − V ≥ V* − V. Measured against the monolithic LP, plan (0) is usually within 0.05 % of V*; the bound
 * converges much more slowly (see docs/optimizer.md).
 *
 * V2G (docs/optimizer.md, "V2G and export"): required export is planned first from the V2G sessions'
 * SoC, with any charging it needs before fixed (export-pass.ts `exportBeforeCharging`); the passes above
 * then run on the headroom left, each giving session needing what it gave on top of its need, so the
 * energy is charged back wherever the plan finds room (at 1000 V2G sites: 0.002 % from the LP optimum,
 * against 8.6 % when export was served after charging and charged back only into what was left).
 * `requiredExportPass` serves whatever that left.
 *
 * Warm start (issue #4, `initialMu`): μ_s is the value of one more kWh for session s, so the multipliers of
 * a previous solve of the same area are a good start when one input changed. B(μ) is a valid bound for any
 * μ ≥ 0, so a start can only change how fast the bound tightens, never make it wrong. Plans (0), (3) and
 * the priority-first plans do not depend on μ, but keeping them was not enough: the iterations from the
 * start alone sometimes found worse plans than a cold start's iterations. So a warm solve runs both (the
 * cold one unchanged) and keeps the better plan and the lower bound: never worse than a cold start in the
 * same iteration budget, at twice the iterations (docs/optimizer.md, "Re-optimization on change").
 */
export interface PriorityOutcome {
  /** Best primal value V (max form) of the plan written. */
  value: number;
  /** Best upper bound B on V*. */
  bound: number;
  /**
   * Σ_s w_s · E_s: the LP objective of a plan is `offset − value`. Not with V2G (`v2gNote` set): `value`
   * then covers the charging the passes planned on top of the export planned first, with raised needs.
   */
  offset: number;
  iterations: number;
  /**
   * The multipliers where the price iterations stopped (of the warm run, when warm), by session id
   * (`ChargingDemand.sessionId`): the warm start for the next solve of this area
   * (`PriorityOptions.initialMu`). Not those of the best bound: in a short budget that is often μ = 0 (at
   * 1000 sites the first 20 steps never beat B(0)), so a start from it would be a cold start again, while
   * resuming where the steps stopped carries their progress into the next solve (bench/reoptimize-bench.ts).
   * Sessions at 0 are left out.
   */
  mu: Map<string, number>;
  /**
   * Set when the area has V2G (discharge columns or a required export): the relaxation covers charging
   * only, so `bound` is NaN (no proof) and this says what was planned instead.
   */
  v2gNote?: string;
}

export interface PriorityOptions {
  /** Stop when (B − V) ≤ relGap · max(1, |offset − V|). */
  relGap: number;
  maxIterations: number;
  /** performance.now() deadline. */
  deadline: number;
  /**
   * Warm start: μ by session id, e.g. `PriorityOutcome.mu` of the previous solve of this area. Sessions
   * absent from it start at 0, as without it; a value that is not finite or below 0 is read as 0 (μ ≥ 0).
   */
  initialMu?: ReadonlyMap<string, number>;
}

export const DEFAULT_PRIORITY_OPTIONS: Omit<PriorityOptions, 'deadline'> = { relGap: 1e-4, maxIterations: 200 };

/**
 * Time for the price iterations: about 2.5 ms per 1000 columns (some 5–20 iterations at bench sizes). The
 * plan is usually settled by the first passes (least laxity first, session by session); the iterations
 * mostly tighten the proven bound, which converges slowly at scale anyway (see docs/optimizer.md).
 */
export function priorityBudgetMs(columns: number): number {
  return Math.max(50, columns / 400);
}

/** A plan and its value (max form). */
interface Candidate {
  value: number;
  plan: Float64Array;
}

/** What one run of price iterations found: its best plan and bound, and μ where it stopped. */
interface Phase extends Candidate {
  bound: number;
  resume: Float64Array;
  iterations: number;
}

/** Solves one area; writes the best plan into `plan[e * count + t]` (the area's other entries are left as they are). */
export function solvePriority(input: Problem, area: AreaRange, inputCols: AreaColumns, plan: Float64Array, opts: PriorityOptions): PriorityOutcome {
  // Required export, planned first (export-pass.ts `exportBeforeCharging`): the discharge and the fixed
  // charging it needs before are written into `plan` and taken out of copies of the limits and column
  // bounds; the charging plan below fills the rest (added to the fixed charging at the end), with each
  // session that gives energy needing that much more. Its discharge cells have no charge column.
  const hasV2g = areaHasV2g(input, area, inputCols);
  const T0 = input.count;
  const fixed = hasV2g ? new Float64Array(inputCols.colEvse.length) : null;
  let p = input;
  let cols = inputCols;
  let extra: Float64Array | null = null;
  let kwhBefore = 0;
  if (hasV2g) {
    // The pre-pass reads the area's cells (what is already discharging, what it fixed): start them at 0.
    for (let c = 0; c < inputCols.colEvse.length; c++) plan[inputCols.colEvse[c]! * T0 + inputCols.colT[c]!] = 0;
    for (let c = 0; c < inputCols.disEvse.length; c++) plan[inputCols.disEvse[c]! * T0 + inputCols.disT[c]!] = 0;
    p = { ...input, lim: Float64Array.from(input.lim) };
    cols = { ...inputCols, colUb: Float64Array.from(inputCols.colUb) };
    extra = new Float64Array(inputCols.sessions.length);
    kwhBefore = exportBeforeCharging(input, area, inputCols, plan, extra, p.lim, cols.colUb);
    for (let c = 0; c < fixed!.length; c++) fixed![c] = plan[cols.colEvse[c]! * T0 + cols.colT[c]!]!;
  }
  const { tree, lim } = p;
  const ix = indexArea(p, area, cols);
  const { T, nC, nS, E, w, offset, r, tOff, tCols, sessOff, limitedNodes, evPathOff, path } = ix;
  if (extra) for (let s = 0; s < nS; s++) E[s] = Math.max(0, E[s]! + extra[s]!);
  const order = new Int32Array(nC);
  const fill = new Int32Array(T);
  const bySession = new Int32Array(nS);
  const head = new Float64Array(tree.nodes.length);

  const mu = new Float64Array(nS);
  const sessionIds = cols.sessions.map((e) => p.session[e]!.demand.sessionId);
  /** Where the price iterations start: the warm start's μ where given (≥ 0, by session id), else 0. */
  const initial = new Float64Array(nS);
  if (opts.initialMu) {
    for (let s = 0; s < nS; s++) {
      const v = opts.initialMu.get(sessionIds[s]!);
      if (v !== undefined && Number.isFinite(v) && v > 0) initial[s] = v;
    }
  }
  const warm = initial.some((v) => v > 0);
  const key = new Float64Array(nC);
  const got = new Float64Array(nS);
  const rem = new Float64Array(nS);
  const x = new Float64Array(nC);
  const best = new Float64Array(nC);
  const relaxed = new Float64Array(nC);
  const avg = new Float64Array(nC);
  let bestValue = -1;

  const prio = new Float64Array(nS);
  const byPrio = (a: number, b: number): number => prio[b]! - prio[a]! || a - b;
  /**
   * Per interval, columns by key (value per kW) highest first. Full-interval columns at one t share a and
   * r_t, so their order is the sessions' order by w − μ: one sort of the sessions, then a bucket fill. Only
   * partly covered intervals (smaller a) can be out of place; an insertion pass moves them.
   */
  const sortColumns = (): void => {
    for (let s = 0; s < nS; s++) {
      prio[s] = w[s]! - mu[s]!;
      bySession[s] = s;
    }
    bySession.sort(byPrio);
    fill.set(tOff.subarray(0, T));
    for (let i = 0; i < nS; i++) {
      const s = bySession[i]!;
      for (let c = sessOff[s]!; c < sessOff[s + 1]!; c++) order[fill[cols.colT[c]!]!++] = c;
    }
    for (let t = 0; t < T; t++) {
      for (let k = tOff[t]! + 1; k < tOff[t + 1]!; k++) {
        const c = order[k]!;
        let j = k - 1;
        while (j >= tOff[t]! && key[order[j]!]! < key[c]!) {
          order[j + 1] = order[j]!;
          j--;
        }
        order[j + 1] = c;
      }
    }
  };
  const resetHead = (t: number): void => {
    for (const n of limitedNodes) head[n] = lim[n * T + t]!;
  };
  const room = (c: number): number => {
    const e = cols.colEvse[c]! - area.evLo;
    let v = cols.colUb[c]!;
    for (let k = evPathOff[e]!; k < evPathOff[e + 1]!; k++) v = Math.min(v, head[path[k]!]!);
    return v;
  };
  const take = (c: number, v: number): void => {
    const e = cols.colEvse[c]! - area.evLo;
    for (let k = evPathOff[e]!; k < evPathOff[e + 1]!; k++) head[path[k]!]! -= v;
  };

  /**
   * Makes `xs` a feasible plan and returns its value: each session's energy is cut to E_s from its latest
   * columns, then, interval by interval in priority order, what a session still needs is added within
   * the headroom left on its path. `xs` must already respect every node limit (0, or an average of
   * feasible points).
   */
  const repair = (xs: Float64Array): number => {
    rem.set(E);
    // Columns of a session are in time order: keeping the earliest energy cuts from the latest.
    for (let c = 0; c < nC; c++) {
      const s = cols.sessionOf[c]!;
      const a = cols.colA[c]!;
      const v = Math.min(xs[c]!, Math.max(0, rem[s]!) / a);
      xs[c] = v;
      rem[s]! -= a * v;
    }
    let value = 0;
    for (let t = 0; t < T; t++) {
      resetHead(t);
      for (let k = tOff[t]!; k < tOff[t + 1]!; k++) {
        const c = order[k]!;
        if (xs[c]! > 0) take(c, xs[c]!);
      }
      for (let k = tOff[t]!; k < tOff[t + 1]!; k++) {
        const c = order[k]!;
        const s = cols.sessionOf[c]!;
        const a = cols.colA[c]!;
        if (rem[s]! > 1e-12) {
          const v = Math.min(room(c), cols.colUb[c]! - xs[c]!, rem[s]! / a);
          if (v > 0) {
            take(c, v);
            xs[c]! += v;
            rem[s]! -= a * v;
          }
        }
        value += (w[s]! + r[t]!) * a * xs[c]!;
      }
    }
    return value;
  };

  // Primal 0: least laxity first. In each interval the sessions that can least afford to wait go first:
  // laxity = (the energy the session could still take from here on, at its bounds, − what it still needs)
  // in intervals at its power here (time-based laxity: 0.00 % vs 0.08 % from the optimum at 1000 sites).
  // Each delivered kWh is worth about the same (w varies by 10 %), so not wasting capacity on a session
  // that could charge later matters most; the urgency weight breaks ties.
  // Priority sessions (OCPP 2.1, w ≥ 2000 against ≤ 1100: a kWh of theirs is worth about two of any other)
  // also get plans where they have a pass of their own first, over the whole horizon, and the others share
  // the headroom left (after the price iterations, below). As a mere tie-breaker inside one pass, a
  // priority session with laxity lost its interval to a plain session that could not wait, and then found
  // no room later (8 % from the optimum at 10 sites, docs/optimizer.md).
  // Energy a column's session could still take from its interval on (later) or up to it (earlier).
  const later = new Float64Array(nC);
  const earlier = new Float64Array(nC);
  for (let s = 0; s < nS; s++) {
    let acc = 0;
    for (let c = sessOff[s + 1]! - 1; c >= sessOff[s]!; c--) {
      acc += cols.colA[c]! * cols.colUb[c]!;
      later[c] = acc;
    }
    acc = 0;
    for (let c = sessOff[s]!; c < sessOff[s + 1]!; c++) {
      acc += cols.colA[c]! * cols.colUb[c]!;
      earlier[c] = acc;
    }
  }
  const tier = new Uint8Array(nS);
  for (let s = 0; s < nS; s++) tier[s] = w[s]! >= UNMET_PENALTY + PRIORITY_BONUS ? 1 : 0;
  const tiered = tier.includes(1) && tier.includes(0);
  /** Headroom the first pass used, per limited node (index in limitedNodes) and interval. */
  const used = tiered ? new Float64Array(limitedNodes.length * T) : null;
  const lax = new Float64Array(nC);
  const byLaxity = (a: number, b: number): number => lax[a]! - lax[b]! || w[cols.sessionOf[b]!]! - w[cols.sessionOf[a]!]! || a - b;
  /**
   * One pass over the intervals (forward, or backward: then laxity counts the intervals before) with the
   * sessions of `pass` (-1: all), each in the headroom the earlier pass left; returns the value added.
   */
  const lowestLaxity = (pass: number, backward: boolean): number => {
    let value = 0;
    for (let i = 0; i < T; i++) {
      const t = backward ? T - 1 - i : i;
      // `order` is scratch here (the price iterations rebuild it).
      let m = tOff[t]!;
      for (let k = tOff[t]!; k < tOff[t + 1]!; k++) {
        const c = tCols[k]!;
        if (pass >= 0 && tier[cols.sessionOf[c]!] !== pass) continue;
        order[m++] = c;
        // In intervals at this column's power: how many it could still skip and finish.
        lax[c] = ((backward ? earlier[c]! : later[c]!) - rem[cols.sessionOf[c]!]!) / (cols.colUb[c]! * cols.colA[c]!);
      }
      const seg = order.subarray(tOff[t]!, m).sort(byLaxity);
      resetHead(t);
      if (used && pass === 0) limitedNodes.forEach((n, j) => (head[n]! -= used[j * T + t]!));
      for (const c of seg) {
        const s = cols.sessionOf[c]!;
        if (!(rem[s]! > 1e-12)) continue;
        const a = cols.colA[c]!;
        const v = Math.min(room(c), rem[s]! / a);
        if (!(v > 0)) continue;
        take(c, v);
        x[c] = v;
        rem[s]! -= a * v;
        value += (w[s]! + r[t]!) * a * v;
      }
      // (A limited node may be unlimited in some intervals: nothing to carry over there, and ∞ − ∞ is NaN.)
      if (used && pass === 1) limitedNodes.forEach((n, j) => (used[j * T + t] = lim[n * T + t]! === Number.POSITIVE_INFINITY ? 0 : lim[n * T + t]! - head[n]!));
    }
    return value;
  };
  rem.set(E);
  x.fill(0);
  bestValue = lowestLaxity(-1, false);
  best.set(x);

  // Primal 3: session by session (area-index.ts).
  {
    const value = sessionPass(p, area, cols, ix, x);
    if (value > bestValue) {
      bestValue = value;
      best.set(x);
    }
  }

  /**
   * Price iterations from `start` (μ ≥ 0) until `deadline`, from the plans so far (`base`). Everything the
   * iterations steer by (θ, stall count, average, Polyak target, stop test) is their own, so a run from
   * μ = 0 is exactly what a cold start does whatever ran before it.
   */
  const iterate = (start: Float64Array, base: Candidate, deadline: number): Phase => {
    mu.set(start);
    let avgWeight = 0;
    let theta = 2;
    let stall = 0;
    let runValue = base.value;
    const runBest = Float64Array.from(base.plan);
    let runBound = Number.POSITIVE_INFINITY;
    let it = 0;
    for (; it < opts.maxIterations; it++) {
      for (let c = 0; c < nC; c++) {
        const s = cols.sessionOf[c]!;
        key[c] = (w[s]! + r[cols.colT[c]!]! - mu[s]!) * cols.colA[c]!;
      }
      sortColumns();

      // Relaxation: per interval greedy, no energy rows.
      got.fill(0);
      relaxed.fill(0);
      let bound = 0;
      for (let s = 0; s < nS; s++) bound += mu[s]! * E[s]!;
      for (let t = 0; t < T; t++) {
        resetHead(t);
        for (let k = tOff[t]!; k < tOff[t + 1]!; k++) {
          const c = order[k]!;
          if (!(key[c]! > 0)) break;
          const v = room(c);
          if (!(v > 0)) continue;
          take(c, v);
          relaxed[c] = v;
          bound += key[c]! * v;
          got[cols.sessionOf[c]!]! += cols.colA[c]! * v;
        }
      }
      if (bound < runBound - 1e-9 * Math.max(1, Math.abs(bound))) {
        runBound = bound;
        stall = 0;
      } else if (++stall >= 8) {
        theta /= 2;
        avgWeight = 0;
        stall = 0;
      }

      // Primal 1: from nothing, same priorities, in time order, each session clipped to what it still needs.
      x.fill(0);
      let value = repair(x);
      if (value > runValue) {
        runValue = value;
        runBest.set(x);
      }
      // Primal 2: the weighted average of the relaxed solutions (a convex combination, so within every node
      // limit), cut to each session's energy from its latest intervals, then topped up in the same way.
      avgWeight += 1;
      const f = 1 / avgWeight;
      for (let c = 0; c < nC; c++) avg[c]! += f * (relaxed[c]! - avg[c]!);
      if (it % 4 === 3) {
        x.set(avg);
        value = repair(x);
        if (value > runValue) {
          runValue = value;
          runBest.set(x);
        }
      }

      const gap = runBound - runValue;
      if (gap <= opts.relGap * Math.max(1, Math.abs(offset - runValue)) || performance.now() > deadline) {
        it++;
        break;
      }
      let norm = 0;
      for (let s = 0; s < nS; s++) {
        const g = E[s]! - got[s]!;
        // A session priced at 0 that the relaxation under-serves has nothing to lower.
        if (mu[s]! > 0 || g < 0) norm += g * g;
      }
      if (norm === 0) {
        it++;
        break;
      }
      {
        const step = (theta * (bound - runValue)) / norm;
        for (let s = 0; s < nS; s++) mu[s] = Math.max(0, mu[s]! - step * (E[s]! - got[s]!));
      }
    }
    return { value: runValue, plan: runBest, bound: runBound, resume: Float64Array.from(mu), iterations: it };
  };

  // Warm start: the cold start's iterations (from μ = 0) run too, unchanged, and their plans stay
  // candidates, so the warm start's plan is never worse than the cold start's in the same iteration budget
  // (a start from elsewhere alone found worse plans on about 1 small random instance in 600, up to 8 %).
  // Each gets half the time left; the better plan and the lower bound are kept.
  const base: Candidate = { value: bestValue, plan: Float64Array.from(best) };
  const phases: Phase[] = [];
  if (warm) {
    phases.push(iterate(initial, base, performance.now() + (opts.deadline - performance.now()) / 2));
    phases.push(iterate(new Float64Array(nS), base, opts.deadline));
  } else {
    phases.push(iterate(initial, base, opts.deadline));
  }

  // Priority sessions first (see Primal 0): as early as they can (forward), or as late as they can
  // (backward: leaves the early intervals to plain sessions that leave soon), the others in the headroom
  // left. Tried after the price iterations, as extra candidates: the Polyak steps aim at the best value
  // so far, and a better start changed their path enough to end worse on some instances (bench instance
  // with priority sessions and unlimited intervals, 30 sites: 4.4 % instead of 0.07 %).
  for (const backward of tiered ? [false, true] : []) {
    rem.set(E);
    x.fill(0);
    const value = lowestLaxity(1, backward) + lowestLaxity(0, false);
    for (const ph of phases) {
      if (value > ph.value) {
        ph.value = value;
        ph.plan.set(x);
      }
    }
  }
  // The last pass moves energy within sessions; it is applied to each phase's plan (the better one before
  // it need not be the better one after it) and the better result is written.
  const twin = phases.length === 2 && phases[0]!.plan.every((v, c) => v === phases[1]!.plan[c]);
  bestValue = Number.NEGATIVE_INFINITY;
  let bestBound = Number.POSITIVE_INFINITY;
  let iterations = 0;
  for (const [i, ph] of phases.entries()) {
    if (!(twin && i > 0)) {
      const value = ph.value + shiftWithinSessions(p, area, cols, ix, ph.plan);
      if (value > bestValue) {
        bestValue = value;
        best.set(ph.plan);
      }
    }
    bestBound = Math.min(bestBound, ph.bound);
    iterations += ph.iterations;
  }
  const muOut = new Map<string, number>();
  // Where the first run stopped (the warm run when there is one): the next solve resumes from there.
  const resume = phases[0]!.resume;
  for (let s = 0; s < nS; s++) if (resume[s]! > 0) muOut.set(sessionIds[s]!, resume[s]!);
  for (let c = 0; c < nC; c++) plan[cols.colEvse[c]! * T + cols.colT[c]!] = best[c]! + (fixed ? fixed[c]! : 0);
  if (hasV2g) {
    // Charging plan as above (V2G sessions charge up to their need, which the SoC ceiling allows), then
    // required export from V2G discharge; no arbitrage (docs/optimizer.md, "V2G and export").
    const kwh = kwhBefore + requiredExportPass(input, area, inputCols, plan);
    const v2gNote = `required export served greedily from V2G discharge (${kwh.toFixed(3)} kWh, ${kwhBefore.toFixed(3)} of it planned before charging), no price arbitrage planned`;
    return { value: bestValue, bound: Number.NaN, offset, iterations, mu: muOut, v2gNote };
  }
  return { value: bestValue, bound: bestBound, offset, iterations, mu: muOut };
}
