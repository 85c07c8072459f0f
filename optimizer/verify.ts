import type { Allocation, AllocationInput, ChargingDemand, TopologyNode } from './model.ts';
import { checkPhaseLimits } from './verify-phases.ts';

/**
 * An independent check of an allocation against its input. It shares no code with the solver (only the
 * model's conventions, restated here), so a bug in the solver's limit or tree handling is not repeated
 * here and hidden.
 *
 * Both sides, each gross (docs/optimizer.md, "V2G and export"): the sum of capKw under a node stays
 * within its import limit, the sum of discharge (−kw where kw < 0) and the sum of exportCapKw within its
 * export limit; only a V2G session may discharge, up to its max discharge and its exportCapKw, and its
 * SoC (from socKwh, step by step) stays within [minSocKwh after a discharge, capacityKwh after a charge].
 * A negative envelope importKw asks for export: the net sum of kw under the node must be ≤ importKw, up
 * to 0.001 kW (the setpoint step) per discharging EVSE, unless `violations` lists the shortfall exactly.
 *
 * Conventions checked: a NaN or negative limit means 0; an EVSE without a finite maxPowerKw may draw 0; a
 * session is present in every interval overlapping [arrival, departure) and gets kW · Δt · overlap there;
 * a node not under any root (unknown parent, cycle) has no known limits above it, so its EVSEs must be 0.
 */
export interface Verification {
  ok: boolean;
  violations: string[];
}

const EPS = 1e-9;
const SUM_EPS = 1e-6;
const MAX_MESSAGES = 200;

function kwOrZero(v: number): number {
  return Number.isNaN(v) || v < 0 ? 0 : v;
}

export function verifyAllocation(input: AllocationInput, alloc: Allocation): Verification {
  const violations: string[] = [];
  let extra = 0;
  const fail = (m: string): void => {
    if (violations.length < MAX_MESSAGES) violations.push(m);
    else extra++;
  };
  const h = input.horizon;
  const T = Number.isInteger(h.count) && h.count >= 0 ? h.count : 0;
  const step = h.intervalMinutes * 60_000;
  const dtH = h.intervalMinutes / 60;
  if (alloc.horizon.count !== h.count || alloc.horizon.startMs !== h.startMs || alloc.horizon.intervalMinutes !== h.intervalMinutes) {
    fail(`allocation horizon ${JSON.stringify(alloc.horizon)} differs from input horizon ${JSON.stringify(h)}`);
  }

  const nodes = new Map<string, TopologyNode>();
  for (const n of input.nodes) if (!nodes.has(n.id)) nodes.set(n.id, n);
  const limits = new Map<string, number[]>();
  const exportLimits = new Map<string, number[]>();
  for (const n of nodes.values()) {
    const s = n.importLimitKw === undefined ? Number.POSITIVE_INFINITY : kwOrZero(n.importLimitKw);
    limits.set(n.id, new Array<number>(T).fill(s));
    const x = n.exportLimitKw === undefined ? Number.POSITIVE_INFINITY : kwOrZero(n.exportLimitKw);
    exportLimits.set(n.id, new Array<number>(T).fill(x));
  }
  /** Export asked for by negative envelope import limits, per node (kW, 0 = none). */
  const required = new Map<string, number[]>();
  for (const env of input.envelopes) {
    const l = limits.get(env.nodeId);
    const x = exportLimits.get(env.nodeId);
    if (!l || !x) continue;
    for (let t = 0; t < T && t < env.importKw.length; t++) {
      const v = env.importKw[t];
      if (v !== null && v !== undefined) l[t] = Math.min(l[t]!, kwOrZero(v));
      if (typeof v === 'number' && Number.isFinite(v) && v < 0) {
        const r = required.get(env.nodeId) ?? new Array<number>(T).fill(0);
        r[t] = Math.max(r[t]!, -v);
        required.set(env.nodeId, r);
      }
    }
    const exp = Array.isArray(env.exportKw) ? env.exportKw : [];
    for (let t = 0; t < T && t < exp.length; t++) {
      const v = exp[t];
      if (v !== null && v !== undefined) x[t] = Math.min(x[t]!, kwOrZero(v));
    }
  }

  checkPhaseLimits(input, alloc, limits, fail); // per-phase ampere limits (verify-phases.ts)

  /** Ids from the node up to its root, or null when it hangs under no root. */
  const pathCache = new Map<string, string[] | null>();
  const pathOf = (id: string): string[] | null => {
    if (pathCache.has(id)) return pathCache.get(id)!;
    const path: string[] = [];
    let cur: TopologyNode | undefined = nodes.get(id);
    while (cur && path.length <= nodes.size) {
      path.push(cur.id);
      if (cur.parentId === null || cur.parentId === undefined) {
        pathCache.set(id, path);
        return path;
      }
      cur = nodes.get(cur.parentId);
    }
    pathCache.set(id, null);
    return null;
  };

  const demandsBySession = new Map<string, ChargingDemand[]>();
  for (const d of input.demands) demandsBySession.set(d.sessionId, [...(demandsBySession.get(d.sessionId) ?? []), d]);
  const overlap = (d: ChargingDemand, t: number): number => {
    const a = h.startMs + t * step;
    const from = Math.max(a, d.arrivalMs);
    const to = Math.min(a + step, d.departureMs);
    return to > from ? (to - from) / step : 0;
  };

  const sums = new Map<string, number[]>();
  /** Sums of the discharge (−kw where kw < 0), of exportCapKw, of kw (net) and discharging EVSEs. */
  const outSums = new Map<string, number[]>();
  const capOutSums = new Map<string, number[]>();
  const netSums = new Map<string, number[]>();
  const discharging = new Map<string, number[]>();
  for (const id of nodes.keys()) {
    sums.set(id, new Array<number>(T).fill(0));
    outSums.set(id, new Array<number>(T).fill(0));
    capOutSums.set(id, new Array<number>(T).fill(0));
    netSums.set(id, new Array<number>(T).fill(0));
    discharging.set(id, new Array<number>(T).fill(0));
  }
  const seen = new Set<string>();
  for (const sch of alloc.evses) {
    const node = nodes.get(sch.evseId);
    if (!node || node.kind !== 'evse') {
      fail(`schedule for ${sch.evseId}, which is not an EVSE of the topology`);
      continue;
    }
    if (seen.has(sch.evseId)) fail(`EVSE ${sch.evseId} has more than one schedule`);
    seen.add(sch.evseId);
    if (sch.kw.length !== T || sch.capKw.length !== T) {
      fail(`EVSE ${sch.evseId}: kw has ${sch.kw.length} and capKw ${sch.capKw.length} entries, horizon has ${T}`);
      continue;
    }
    if (sch.exportCapKw !== undefined && sch.exportCapKw.length !== T) {
      fail(`EVSE ${sch.evseId}: exportCapKw has ${sch.exportCapKw.length} entries, horizon has ${T}`);
      continue;
    }
    let demand: ChargingDemand | undefined;
    if (sch.sessionId !== null) {
      demand = demandsBySession.get(sch.sessionId)?.find((d) => d.evseId === sch.evseId);
      if (!demand) fail(`EVSE ${sch.evseId}: session ${sch.sessionId} is not an input demand on this EVSE`);
    }
    const path = pathOf(node.id);
    const evseMax = Number.isFinite(node.maxPowerKw) ? kwOrZero(node.maxPowerKw!) : 0;
    const evseMin = node.minPowerKw === undefined ? 0 : kwOrZero(node.minPowerKw);
    const sessionMax = demand?.maxPowerKw === undefined ? Number.POSITIVE_INFINITY : kwOrZero(demand.maxPowerKw);
    const sessionMin = Math.max(evseMin, demand?.minPowerKw === undefined ? 0 : kwOrZero(demand.minPowerKw));
    const v2g = demand?.v2g;
    const v2gOk = v2g !== undefined && v2g !== null && typeof v2g === 'object' && [v2g.maxDischargeKw, v2g.minSocKwh, v2g.socKwh, v2g.capacityKwh].every((x) => Number.isFinite(x) && x >= 0);
    let soc = v2gOk ? v2g.socKwh : 0;
    let kwh = 0;
    for (let t = 0; t < T; t++) {
      const kw = sch.kw[t]!;
      const cap = sch.capKw[t]!;
      const at = `EVSE ${sch.evseId} interval ${t}`;
      const f = demand ? overlap(demand, t) : 0;
      // Only a V2G session present in the interval may discharge (negative kw), up to its max discharge.
      const discharge = v2gOk && f > 0 && kw < 0;
      if (!Number.isFinite(kw) || (kw < 0 && !discharge)) fail(`${at}: kw ${kw} is not a finite value >= 0`);
      if (discharge && -kw > v2g.maxDischargeKw + EPS) fail(`${at}: discharge ${-kw} kW above the V2G max ${v2g.maxDischargeKw}`);
      // exportCapKw: absent means no discharge allowed; else within [−kw, V2G max], 0 without a V2G session.
      const xcap = sch.exportCapKw === undefined ? 0 : sch.exportCapKw[t]!;
      if (!Number.isFinite(xcap) || xcap < 0) fail(`${at}: exportCapKw ${xcap} is not a finite value >= 0`);
      if (kw < 0 && -kw > xcap + EPS) fail(`${at}: discharge ${-kw} kW above exportCapKw ${sch.exportCapKw === undefined ? '(absent)' : xcap}`);
      if (xcap > 0 && !(v2gOk && f > 0)) fail(`${at}: exportCapKw ${xcap} without a V2G session present`);
      if (xcap > 0 && v2gOk && xcap > v2g.maxDischargeKw + EPS) fail(`${at}: exportCapKw ${xcap} above the V2G max ${v2g.maxDischargeKw}`);
      if (!Number.isFinite(cap) || cap < 0) fail(`${at}: capKw ${cap} is not a finite value >= 0`);
      if (kw > cap + EPS) fail(`${at}: kw ${kw} above capKw ${cap}`);
      if (cap > evseMax + EPS) fail(`${at}: capKw ${cap} above the EVSE max ${evseMax}`);
      if (!path && (kw !== 0 || cap !== 0)) fail(`${at}: EVSE is under no root, so kw and capKw must be 0`);
      if (f > 0) {
        if (cap > sessionMax + EPS) fail(`${at}: capKw ${cap} above the session max ${sessionMax}`);
        if (kw !== 0 && Math.abs(kw) < sessionMin - EPS) fail(`${at}: kw ${kw} under the min power ${sessionMin}`);
        if (cap !== 0 && cap < sessionMin - EPS) fail(`${at}: capKw ${cap} under the min power ${sessionMin}`);
        kwh += kw * dtH * f;
        if (v2gOk) {
          soc += kw * dtH * f;
          if (kw < 0 && soc < v2g.minSocKwh - SUM_EPS) fail(`${at}: SoC ${soc} kWh under the V2G min ${v2g.minSocKwh} after discharging`);
          if (kw > 0 && soc > v2g.capacityKwh + SUM_EPS) fail(`${at}: SoC ${soc} kWh above the battery capacity ${v2g.capacityKwh}`);
        }
      } else {
        if (kw !== 0) fail(`${at}: kw ${kw} while no session is present`);
        if (cap !== 0 && cap < evseMin - EPS) fail(`${at}: capKw ${cap} under the EVSE min power ${evseMin}`);
      }
      if (path) {
        for (const id of path) {
          const sum = sums.get(id)!;
          sum[t] = sum[t]! + cap;
          if (kw < 0) {
            outSums.get(id)![t]! -= kw;
            discharging.get(id)![t]! += 1;
          }
          capOutSums.get(id)![t]! += Number.isFinite(xcap) ? xcap : 0;
          netSums.get(id)![t]! += kw;
        }
      }
    }
    if (demand) {
      const need = Number.isFinite(demand.energyKwh) ? Math.max(0, demand.energyKwh) : 0;
      if (kwh > need + SUM_EPS) fail(`session ${demand.sessionId} on EVSE ${sch.evseId}: ${kwh} kWh delivered, ${need} kWh needed`);
    }
  }
  for (const n of nodes.values()) {
    if (n.kind === 'evse' && !seen.has(n.id)) fail(`EVSE ${n.id} has no schedule`);
  }

  const reportedViolations = new Map<string, number>();
  for (const v of alloc.violations ?? []) {
    const ok = nodes.has(v.nodeId) && Number.isInteger(v.interval) && v.interval >= 0 && v.interval < T && v.kind === 'import' && Number.isFinite(v.excessKw) && v.excessKw > 0;
    if (!ok || !((required.get(v.nodeId)?.[v.interval] ?? 0) > 0)) fail(`violation ${JSON.stringify(v)} names no required export of the input`);
    else reportedViolations.set(`${v.nodeId}\u0000${v.interval}`, v.excessKw);
  }
  for (const [id, limit] of limits) {
    const sum = sums.get(id)!;
    const totals = alloc.nodeTotalsKw[id];
    const reported = alloc.nodeLimitsKw[id];
    if (!totals || totals.length !== T) fail(`node ${id}: nodeTotalsKw missing or not ${T} entries`);
    if (!reported || reported.length !== T) fail(`node ${id}: nodeLimitsKw missing or not ${T} entries`);
    for (let t = 0; t < T; t++) {
      if (sum[t]! > limit[t]! + SUM_EPS) fail(`node ${id} interval ${t}: sum of capKw ${sum[t]} above the import limit ${limit[t]}`);
      const exported = outSums.get(id)![t]!;
      const exportLimit = exportLimits.get(id)![t]!;
      if (exported > exportLimit + SUM_EPS) fail(`node ${id} interval ${t}: export ${exported} kW above the export limit ${exportLimit}`);
      const capOut = capOutSums.get(id)![t]!;
      if (capOut > exportLimit + SUM_EPS) fail(`node ${id} interval ${t}: sum of exportCapKw ${capOut} above the export limit ${exportLimit}`);
      const xt = alloc.nodeExportTotalsKw?.[id]?.[t];
      if (xt !== undefined && !(Math.abs(xt - capOut) <= SUM_EPS)) fail(`node ${id} interval ${t}: nodeExportTotalsKw ${xt} but the export caps under it sum to ${capOut}`);
      const need = required.get(id)?.[t] ?? 0;
      if (need > 0) {
        const short = netSums.get(id)![t]! + need;
        const listed = reportedViolations.get(`${id}\u0000${t}`);
        if (short > SUM_EPS + 0.001 * discharging.get(id)![t]! && listed === undefined) fail(`node ${id} interval ${t}: net ${netSums.get(id)![t]} kW above the import limit ${-need} (export required) and no violation reported`);
        if (listed !== undefined && !(Math.abs(listed - short) <= SUM_EPS)) fail(`node ${id} interval ${t}: violation reports ${listed} kW, the shortfall is ${short}`);
      }
      const total = totals?.[t];
      if (total !== undefined && !(Math.abs(total - sum[t]!) <= SUM_EPS)) fail(`node ${id} interval ${t}: nodeTotalsKw ${total} but the caps under it sum to ${sum[t]}`);
      const lim = reported?.[t];
      if (lim !== undefined && lim !== limit[t] && !(Math.abs(lim - limit[t]!) <= EPS)) fail(`node ${id} interval ${t}: nodeLimitsKw ${lim} but the effective limit is ${limit[t]}`);
    }
  }
  for (const u of alloc.unmet) {
    if (!Number.isFinite(u.kwh) || u.kwh < 0) fail(`unmet energy of session ${u.sessionId} is ${u.kwh} kWh`);
  }
  if (extra > 0) violations.push(`and ${extra} more`);
  return { ok: violations.length === 0, violations };
}
