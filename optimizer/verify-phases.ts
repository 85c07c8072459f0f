import type { Allocation, AllocationInput, TopologyNode } from './model.ts';

/**
 * The per-phase part of `verifyAllocation` (verify.ts calls it), written from the model's conventions
 * alone and sharing no code with the solver side (phases.ts), so a mistake there is not repeated here.
 *
 * Conventions restated (docs/optimizer.md, "Phases and minimum power"): a node's `importLimitA` /
 * `exportLimitA` (NaN or negative = 0) limits the current on each of its phases, at its `phaseVoltageV`
 * (default 230 V; non-finite or ≤ 0 = 230). An EVSE's connection is its own `phaseCount`/`phase`, else
 * the nearest ancestor's; a 1-phase node anywhere above makes it 1-phase. Per kW (A at V volts):
 * 3-phase → 1000/(3V) on every phase; 1-phase on Lx → 1000/V on Lx; otherwise 1000/V on every phase.
 * Under a node that is itself 1-phase (or below one), all current is on its one phase: 1000/V per kW.
 *
 * Import current is from `capKw` (≥ kw), export current from the discharge or `exportCapKw`, whichever is
 * larger. Besides checking the currents, when all EVSEs under a node draw alike (or the node is 1-phase) the
 * limit is a plain kW limit, which the allocation reports in `nodeLimitsKw`: it is min'd into `limits`
 * so verify.ts checks the reported value and the caps against it like any other kW limit.
 */
export function checkPhaseLimits(input: AllocationInput, alloc: Allocation, limits: Map<string, number[]>, fail: (m: string) => void): void {
  const nodes = new Map<string, TopologyNode>();
  for (const n of input.nodes) if (!nodes.has(n.id)) nodes.set(n.id, n);
  const limited = [...nodes.values()].filter((n) => n.importLimitA !== undefined || n.exportLimitA !== undefined);
  if (limited.length === 0) return;

  const up = (id: string): TopologyNode[] | null => {
    const path: TopologyNode[] = [];
    let cur = nodes.get(id);
    while (cur && path.length <= nodes.size) {
      path.push(cur);
      if (cur.parentId === null || cur.parentId === undefined) return path;
      cur = nodes.get(cur.parentId);
    }
    return null;
  };
  const amps = (v: number | undefined): number | undefined => (v === undefined ? undefined : Number.isNaN(v) || v < 0 ? 0 : v);
  const volts = (n: TopologyNode): number => (typeof n.phaseVoltageV === 'number' && Number.isFinite(n.phaseVoltageV) && n.phaseVoltageV > 0 ? n.phaseVoltageV : 230);

  /** Current per kW on L1..L3 as a multiple of 1000/V. */
  const share = (path: TopologyNode[]): [number, number, number] => {
    let count: number | undefined;
    let phase: string | undefined;
    for (const n of path) {
      if (n.phaseCount === 1) count = 1;
      else if (n.phaseCount === 3 && count === undefined) count = 3;
      phase ??= n.phase;
    }
    if (count === 3) return [1 / 3, 1 / 3, 1 / 3];
    if (count === 1 && phase === 'L1') return [1, 0, 0];
    if (count === 1 && phase === 'L2') return [0, 1, 0];
    if (count === 1 && phase === 'L3') return [0, 0, 1];
    return [1, 1, 1];
  };

  const T = Number.isInteger(input.horizon.count) && input.horizon.count >= 0 ? input.horizon.count : 0;
  const schedules = new Map(alloc.evses.map((s) => [s.evseId, s]));
  type Under = { shares: [number, number, number]; cap: number[]; kw: number[]; out: number[] | undefined };
  /** Per limited node under a root: whether it is 1-phase, its EVSEs' current shares, their schedules. */
  const below = new Map<string, { onePhase: boolean; kinds: [number, number, number][]; under: Under[] }>();
  for (const node of limited) {
    const nodePath = up(node.id);
    if (nodePath) below.set(node.id, { onePhase: nodePath.some((n) => n.phaseCount === 1), kinds: [], under: [] });
  }
  // One walk up from each EVSE (not one scan of all EVSEs per limited node): linear in EVSEs × depth.
  for (const n of nodes.values()) {
    if (n.kind !== 'evse') continue;
    const path = up(n.id);
    if (!path) continue;
    const own = share(path);
    const sch = schedules.get(n.id);
    const usable = sch !== undefined && sch.kw.length === T && sch.capKw.length === T;
    for (const m of path) {
      const b = below.get(m.id);
      if (!b) continue;
      const shares: [number, number, number] = b.onePhase ? [1, 0, 0] : own;
      b.kinds.push(shares);
      if (usable) b.under.push({ shares, cap: sch.capKw, kw: sch.kw, out: sch.exportCapKw?.length === T ? sch.exportCapKw : undefined });
    }
  }
  for (const node of limited) {
    const b = below.get(node.id);
    if (!b) continue;
    const { onePhase, kinds, under } = b;
    const V = volts(node);
    const imp = amps(node.importLimitA);
    if (imp !== undefined) {
      // No EVSE below: nothing to draw, the limit reads as balanced 3-phase (what allocate() reports).
      const first = kinds[0] ?? (onePhase ? [1, 0, 0] : [1 / 3, 1 / 3, 1 / 3]);
      const alike = kinds.every((u) => u.every((x, f) => x === first[f]));
      if (alike) {
        const kw = (imp * V) / (1000 * Math.max(...first));
        const l = limits.get(node.id);
        if (l) for (let t = 0; t < T; t++) l[t] = Math.min(l[t]!, kw);
      }
    }
    for (let t = 0; t < T; t++) {
      const load = [0, 0, 0];
      const back = [0, 0, 0];
      for (const u of under) {
        for (let f = 0; f < 3; f++) {
          load[f]! += (u.shares[f]! * 1000 * Math.max(0, u.cap[t]!)) / V;
          // Discharge, or the export cap where one is given (a cap is the most the EVSE may discharge).
          back[f]! += (u.shares[f]! * 1000 * Math.max(0, -u.kw[t]!, u.out?.[t] ?? 0)) / V;
        }
      }
      for (let f = 0; f < 3; f++) {
        if (imp !== undefined && load[f]! > imp + 1e-6) fail(`node ${node.id} interval ${t}: L${f + 1} current ${load[f]} A (sum of capKw) above the per-phase import limit ${imp} A`);
        const exp = amps(node.exportLimitA);
        if (exp !== undefined && back[f]! > exp + 1e-6) fail(`node ${node.id} interval ${t}: L${f + 1} export current ${back[f]} A (discharge and export caps) above the per-phase export limit ${exp} A`);
      }
    }
  }
}
