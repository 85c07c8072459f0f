import { allocate, verifyAllocation, type Allocation, type AllocationInput, type ChargingDemand, type TopologyNode } from '../optimizer/index.ts';

const INTERVALS = 96;
const STEP_MS = 15 * 60_000;
const START_MS = Date.UTC(2025, 0, 6);
/** Beyond this a size is reported as skipped rather than waited for. */
const TIME_LIMIT_SEC = 120;

/** mulberry32: small, fast and deterministic, so every run measures the same instances. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One grid area, 1–4 CPOs, `sites` sites (22–55 kW each) with 2 stations × 2 EVSEs (11 or 22 kW, min 4.1 kW),
 * ~60% of EVSEs with a session of 2–10 h and 5–50 kWh. The area's envelope is 40% of what the plugged-in
 * EVs could draw in each interval, so it binds most of the day.
 */
export function syntheticInstance(sites: number, seed = 42): AllocationInput {
  const rnd = prng(seed + sites);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const nodes: TopologyNode[] = [{ id: 'ga', kind: 'grid_area', parentId: null }];
  const demands: ChargingDemand[] = [];
  const cpos = 1 + Math.floor(rnd() * 4);
  for (let c = 0; c < cpos; c++) nodes.push({ id: `cpo${c}`, kind: 'cpo', parentId: 'ga' });
  const potential = new Array<number>(INTERVALS).fill(0);
  for (let s = 0; s < sites; s++) {
    const site = `site${s}`;
    nodes.push({ id: site, kind: 'site', parentId: `cpo${s % cpos}`, importLimitKw: pick([22, 33, 44, 55]) });
    for (let st = 0; st < 2; st++) {
      const station = `${site}.cs${st}`;
      nodes.push({ id: station, kind: 'station', parentId: site });
      for (let k = 0; k < 2; k++) {
        const id = `${station}.e${k}`;
        const maxPowerKw = pick([11, 22]);
        nodes.push({ id, kind: 'evse', parentId: station, maxPowerKw, minPowerKw: 4.1 });
        if (rnd() >= 0.6) continue;
        const from = Math.floor(rnd() * 80);
        const to = Math.min(INTERVALS, from + 8 + Math.floor(rnd() * 33));
        const evMax = pick([7.4, 11, 22]);
        demands.push({
          sessionId: `${id}:s`, evseId: id, arrivalMs: START_MS + from * STEP_MS, departureMs: START_MS + to * STEP_MS,
          energyKwh: Math.round((5 + rnd() * 45) * 10) / 10, maxPowerKw: evMax,
        });
        for (let t = from; t < to; t++) potential[t]! += Math.min(maxPowerKw, evMax);
      }
    }
  }
  const importKw = potential.map((kw) => Math.round(kw * 0.4 * 10) / 10);
  return {
    horizon: { startMs: START_MS, intervalMinutes: 15, count: INTERVALS },
    nodes,
    envelopes: [{ nodeId: 'ga', importKw, exportKw: importKw.map(() => null) }],
    demands,
    timeLimitSec: TIME_LIMIT_SEC,
  };
}

/**
 * The naive alternative the LP must beat: in every interval each plugged-in session still short of energy
 * gets an equal share of every limit above it (the smallest share on its path), up to its max and what it
 * still needs. Returns the unmet energy (kWh).
 */
export function equalShare(input: AllocationInput): number {
  const T = input.horizon.count;
  const dtH = input.horizon.intervalMinutes / 60;
  const byId = new Map(input.nodes.map((n) => [n.id, n]));
  const limitAt = new Map<string, number[]>();
  for (const n of input.nodes) limitAt.set(n.id, new Array<number>(T).fill(n.importLimitKw ?? Number.POSITIVE_INFINITY));
  for (const env of input.envelopes) {
    const l = limitAt.get(env.nodeId)!;
    env.importKw.forEach((v, t) => { if (v !== null && t < T) l[t] = Math.min(l[t]!, v); });
  }
  const paths = input.demands.map((d) => {
    const path: string[] = [];
    for (let n = byId.get(d.evseId); n; n = n.parentId === null ? undefined : byId.get(n.parentId)) path.push(n.id);
    return path;
  });
  const left = input.demands.map((d) => d.energyKwh);
  const active = new Map<string, number>();
  for (let t = 0; t < T; t++) {
    const start = input.horizon.startMs + t * STEP_MS;
    const on = input.demands.map((d, i) => d.arrivalMs <= start && d.departureMs >= start + STEP_MS && left[i]! > 1e-9);
    active.clear();
    on.forEach((o, i) => { if (o) for (const id of paths[i]!) active.set(id, (active.get(id) ?? 0) + 1); });
    input.demands.forEach((d, i) => {
      if (!on[i]) return;
      let kw = Math.min(byId.get(d.evseId)!.maxPowerKw ?? 0, d.maxPowerKw ?? Number.POSITIVE_INFINITY, left[i]! / dtH);
      for (const id of paths[i]!) kw = Math.min(kw, limitAt.get(id)![t]! / active.get(id)!);
      const min = Math.max(byId.get(d.evseId)!.minPowerKw ?? 0, d.minPowerKw ?? 0);
      if (kw < min) kw = 0;
      left[i] = left[i]! - kw * dtH;
    });
  }
  return left.reduce((a, b) => a + Math.max(0, b), 0);
}

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

async function timed(input: AllocationInput, times: number[]): Promise<Allocation> {
  const t0 = performance.now();
  const alloc = await allocate(input);
  times.push(performance.now() - t0);
  return alloc;
}

/** Runs allocate() on 10, 100 and 1000 sites × 96 intervals (or `sizes`) and returns a markdown table. */
export async function optimizerBench(sizes: number[] = [10, 100, 1000]): Promise<string> {
  // The first calls load the GLPK WASM module and warm the JIT; keep that out of the timings.
  for (let i = 0; i < 3; i++) await allocate(syntheticInstance(10, i));
  const rows = [
    '| sites | EVSEs | sessions | status | allocate ms | equal-share ms | time ratio | unmet kWh LP / equal-share | binding | objective | verify | RSS MB | peak RSS MB |',
    '|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---|---:|---:|',
  ];
  const notes: string[] = [];
  let peakRss = process.memoryUsage().rss;
  for (const sites of sizes) {
    const input = syntheticInstance(sites);
    const evses = input.nodes.filter((n) => n.kind === 'evse').length;
    // Small sizes are noisy: report the median of 3 runs; a large one runs once.
    const times: number[] = [];
    let alloc = await timed(input, times);
    for (let r = 1; r < (sites <= 100 ? 3 : 1); r++) alloc = await timed(input, times);
    const lpMs = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const baseTimes: number[] = [];
    let baselineUnmet = 0;
    for (let r = 0; r < times.length; r++) {
      const t1 = performance.now();
      baselineUnmet = equalShare(input);
      baseTimes.push(performance.now() - t1);
    }
    const baseMs = baseTimes.sort((a, b) => a - b)[Math.floor(baseTimes.length / 2)]!;
    const check = verifyAllocation(input, alloc);
    const lpUnmet = alloc.unmet.reduce((s, u) => s + u.kwh, 0);
    const rss = process.memoryUsage().rss;
    peakRss = Math.max(peakRss, rss);
    if (alloc.status === 'fallback') notes.push(`${sites} sites: skipped, no solution within ${TIME_LIMIT_SEC} s (${alloc.reason ?? 'fallback'}); the row shows the safe fallback.`);
    else if (alloc.reason) notes.push(`${sites} sites: ${alloc.reason}`);
    rows.push(`| ${sites} | ${evses} | ${input.demands.length} | ${alloc.status} | ${lpMs.toFixed(0)} | ${baseMs.toFixed(1)} | ${(lpMs / Math.max(baseMs, 1e-3)).toFixed(0)}× | ${lpUnmet.toFixed(1)} / ${baselineUnmet.toFixed(1)} | ${alloc.binding.length} | ${alloc.objective.toFixed(0)} | ${check.ok ? 'ok' : `${check.violations.length} violations`} | ${mb(rss)} | ${mb(peakRss)} |`);
  }
  return [...rows, '', `${INTERVALS} intervals of 15 min, time limit ${TIME_LIMIT_SEC} s, Node ${process.version}.`, ...notes.map((n) => `- ${n}`)].join('\n');
}
