import type { Problem } from './prepare.ts';
import { sumUnder } from './rounding.ts';

/**
 * Greedy fill after the min-power drop. Turning a setpoint off frees headroom the LP had counted on and
 * takes energy from its session (typically the small last step of a charge); this hands the freed room
 * back. Sessions still short of energy, most urgent first, are raised interval by interval (earliest first)
 * up to their max and the headroom left on their path, never to a value under their min power.
 * `skip[e]` = 1 for EVSEs that must stay as they are (an area that fell back). Returns the kWh added.
 * Headroom is the import limit less the gross charging below (discharge frees none: limits are gross).
 * A V2G session raised here is still settled on its SoC bounds when rounded (rounding.ts settleV2g).
 */
export function topUp(p: Problem, plan: Float64Array, skip: Uint8Array): number {
  const { count: T, tree, lim, dtH } = p;
  const used = new Float64Array(tree.nodes.length * T);
  const scratch = new Float64Array(tree.nodes.length);
  for (let t = 0; t < T; t++) {
    sumUnder(p, plan, t, scratch, 'import');
    for (const n of tree.preorder) used[n * T + t] = scratch[n]!;
  }
  const short: { e: number; kwh: number; weight: number }[] = [];
  p.session.forEach((s, e) => {
    if (!s || skip[e] || e >= tree.reachableEvses || s.maxKw <= 0) return;
    let kwh = s.energyKwh;
    for (let t = s.t0; t < s.t1; t++) kwh -= plan[e * T + t]! * dtH * s.frac[t]!;
    if (kwh > 1e-9) short.push({ e, kwh, weight: s.weight });
  });
  short.sort((a, b) => b.weight - a.weight || a.e - b.e);

  const path: number[] = [];
  let added = 0;
  for (const { e, kwh } of short) {
    const s = p.session[e]!;
    path.length = 0;
    for (let n = tree.evseNode[e]!; n >= 0; n = tree.parent[n]!) path.push(n);
    let left = kwh;
    for (let t = s.t0; t < s.t1 && left > 1e-9; t++) {
      const f = s.frac[t]!;
      if (!(f > 0)) continue;
      const k = e * T + t;
      // A V2G discharge stays as planned (raising it towards 0 would change the SoC plan and the export).
      if (plan[k]! < 0) continue;
      let room = s.maxKw - plan[k]!;
      for (const n of path) room = Math.min(room, lim[n * T + t]! - used[n * T + t]!);
      const raise = Math.min(room, left / (dtH * f));
      if (!(raise > 1e-9) || plan[k]! + raise < s.minKw) continue;
      plan[k] = plan[k]! + raise;
      for (const n of path) used[n * T + t] = used[n * T + t]! + raise;
      left -= raise * dtH * f;
      added += raise * dtH * f;
    }
  }
  return added;
}
