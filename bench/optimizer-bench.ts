import { allocate, monolithicOptimum, verifyAllocation, type Allocation, type AllocationInput, type CapacityEnvelope, type ChargingDemand, type MonolithicResult, type TopologyNode } from '../optimizer/index.ts';

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
 * `v2gShare` > 0: that share of the sessions is V2G (60 kWh battery, min SoC 12 kWh, SoC at arrival so
 * the need fits), every site has an export limit equal to its import limit, and prices are two-tariff
 * (0.35 from 07:00 to 22:00, 0.10 otherwise), and the site of every 3rd V2G session is asked to export
 * 5 kW for the hour from 1 h after that EV's arrival (negative envelope import limit; the EV may not be
 * able to give it all). Drawn from a second generator, so the rest of the instance is the same as
 * without V2G.
 */
export function syntheticInstance(sites: number, seed = 42, v2gShare = 0): AllocationInput {
  const rnd = prng(seed + sites);
  const rndV2g = prng(seed + sites + 7919);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const nodes: TopologyNode[] = [{ id: 'ga', kind: 'grid_area', parentId: null }];
  const demands: ChargingDemand[] = [];
  const cpos = 1 + Math.floor(rnd() * 4);
  for (let c = 0; c < cpos; c++) nodes.push({ id: `cpo${c}`, kind: 'cpo', parentId: 'ga' });
  const potential = new Array<number>(INTERVALS).fill(0);
  /** Required export (negative import limit) per site, for the V2G variant. */
  const asks = new Map<string, (number | null)[]>();
  let v2gCount = 0;
  for (let s = 0; s < sites; s++) {
    const site = `site${s}`;
    const siteKw = pick([22, 33, 44, 55]);
    nodes.push({ id: site, kind: 'site', parentId: `cpo${s % cpos}`, importLimitKw: siteKw, ...(v2gShare > 0 ? { exportLimitKw: siteKw } : {}) });
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
        const energyKwh = Math.round((5 + rnd() * 45) * 10) / 10;
        const v2g = rndV2g() < v2gShare;
        if (v2g && v2gCount++ % 3 === 0) {
          const ask = asks.get(site) ?? new Array<number | null>(INTERVALS).fill(null);
          for (let t = from + 4; t < Math.min(to, from + 8); t++) ask[t] = -5;
          asks.set(site, ask);
        }
        const socKwh = Math.round((12 + rndV2g() * (48 - energyKwh)) * 10) / 10;
        demands.push({
          sessionId: `${id}:s`, evseId: id, arrivalMs: START_MS + from * STEP_MS, departureMs: START_MS + to * STEP_MS,
          energyKwh, maxPowerKw: evMax,
          ...(v2g ? { v2g: { maxDischargeKw: Math.min(evMax, 11), minSocKwh: 12, socKwh: Math.max(12, socKwh), capacityKwh: 60 } } : {}),
        });
        for (let t = from; t < to; t++) potential[t]! += Math.min(maxPowerKw, evMax);
      }
    }
  }
  const importKw = potential.map((kw) => Math.round(kw * 0.4 * 10) / 10);
  const envelopes: CapacityEnvelope[] = [{ nodeId: 'ga', importKw, exportKw: importKw.map(() => null) }];
  for (const [nodeId, ask] of asks) envelopes.push({ nodeId, importKw: ask, exportKw: ask.map(() => null) });
  return {
    horizon: { startMs: START_MS, intervalMinutes: 15, count: INTERVALS },
    nodes,
    envelopes,
    demands,
    timeLimitSec: TIME_LIMIT_SEC,
    ...(v2gShare > 0 ? { pricePerKwh: Array.from({ length: INTERVALS }, (_, t) => (t >= 28 && t < 88 ? 0.35 : 0.1)) } : {}),
  };
}

/**
 * The instance with every 5th session an OCPP 2.1 priority session, solved by the priority solver whatever
 * its size (its least-laxity pass serves them first, fast/priority.ts): the bench's "prio" rows.
 */
export function withPrioritySessions(input: AllocationInput): AllocationInput {
  return { ...input, demands: input.demands.map((d, i) => (i % 5 === 0 ? { ...d, priority: true } : d)), method: 'priority' };
}

/** Share of V2G sessions in the bench's V2G rows. */
const V2G_SHARE = 0.2;
/** V2G rows are run for the sizes up to this (the monolithic reference grows too slow beyond). */
const V2G_MAX_SITES = 1000;

/** The monolithic LP gets this long (the issue's limit). */
const MONOLITHIC_LIMIT_SEC = 60;
/**
 * Above this many columns the monolithic LP is not attempted: 54 500 columns (1000 sites) already take
 * 10–16 s and the simplex grows faster than linearly, so 545 000 cannot finish in 60 s, and building it
 * would only inflate the process's memory figures.
 */
const MONOLITHIC_MAX_COLUMNS = 100_000;

const mb = (kb: number): string => (kb / 1024).toFixed(0);
const pct = (x: number): string => `${(x * 100).toFixed(3)} %`;

interface Row {
  sites: number;
  label: string;
  input: AllocationInput;
  alloc: Allocation;
  ms: number;
  peakKb: number;
  mono?: MonolithicResult | null;
  monoNote?: string;
}

async function timed(input: AllocationInput, times: number[]): Promise<Allocation> {
  const t0 = performance.now();
  const alloc = await allocate(input);
  times.push(performance.now() - t0);
  return alloc;
}

/**
 * For 10, 100, 1000 and 10 000 sites × 96 intervals (or `sizes`): allocate() (method 'auto') against one
 * LP of the whole instance solved directly with glpk.js. Every allocate() runs first, so the peak memory
 * (process maxRSS, monotonic) of each size is its own; the monolithic solves come after.
 */
export async function optimizerBench(sizes: number[] = [10, 100, 1000, 10_000]): Promise<string> {
  // The first calls load the GLPK WASM module and warm the JIT; keep that out of the timings.
  for (let i = 0; i < 3; i++) await allocate(syntheticInstance(10, i));
  const rows: Row[] = [];
  const runs = [
    ...sizes.map((sites) => ({ sites, label: String(sites), input: syntheticInstance(sites) })),
    ...sizes.filter((n) => n <= V2G_MAX_SITES).map((sites) => ({ sites, label: `${sites} V2G`, input: syntheticInstance(sites, 42, V2G_SHARE) })),
    ...sizes.filter((n) => n <= V2G_MAX_SITES).map((sites) => ({ sites, label: `${sites} prio`, input: withPrioritySessions(syntheticInstance(sites)) })),
  ];
  for (const { sites, label, input } of runs) {
    // Small sizes are noisy: the median of 3 runs; a large one runs once.
    const times: number[] = [];
    let alloc = await timed(input, times);
    for (let r = 1; r < (sites <= 100 ? 3 : 1); r++) alloc = await timed(input, times);
    const ms = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    rows.push({ sites, label, input, alloc, ms, peakKb: process.resourceUsage().maxRSS });
  }
  for (const row of rows) {
    const columns = row.alloc.solver ? countVariables(row.input) : 0;
    if (columns > MONOLITHIC_MAX_COLUMNS) {
      row.monoNote = `not attempted (${columns} columns)`;
      continue;
    }
    row.mono = await monolithicOptimum(row.input, MONOLITHIC_LIMIT_SEC);
    if (!row.mono) row.monoNote = `no optimum in ${MONOLITHIC_LIMIT_SEC} s`;
  }

  const lines = [
    '| sites | EVSEs | sessions | method | status | gridflex ms | monolithic ms | speed-up | objective gap | proven gap | unmet kWh | verify | peak RSS MB |',
    '|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---|---:|',
  ];
  const notes: string[] = [];
  for (const { label, input, alloc, ms, peakKb, mono, monoNote } of rows) {
    const evses = input.nodes.filter((n) => n.kind === 'evse').length;
    const solver = alloc.solver;
    const method = !solver ? '-' : solver.priorityAreas > 0 ? (solver.lpAreas > 0 ? 'mixed' : 'priority') : 'lp';
    const gap = mono && solver ? pct((solver.planObjective - mono.objective) / Math.max(1, Math.abs(mono.objective))) : '-';
    const proven = solver?.gap === undefined ? '-' : pct(solver.gap);
    const unmet = alloc.unmet.reduce((s, u) => s + u.kwh, 0);
    const check = verifyAllocation(input, alloc);
    lines.push(`| ${label} | ${evses} | ${input.demands.length} | ${method} | ${alloc.status} | ${ms.toFixed(0)} | ${mono ? mono.ms.toFixed(0) : (monoNote ?? '-')} | ${mono ? `${(mono.ms / ms).toFixed(1)}×` : '-'} | ${gap} | ${proven} | ${unmet.toFixed(1)} | ${check.ok ? 'ok' : `${check.violations.length} violations`} | ${mb(peakKb)} |`);
    if (alloc.reason) notes.push(`${label} sites: ${alloc.reason}`);
    const out = alloc.evses.reduce((s, e) => s + e.kw.reduce((a, x) => a + (x < 0 ? -x * 0.25 : 0), 0), 0);
    if (input.demands.some((d) => d.v2g)) notes.push(`${label} sites: ${out.toFixed(1)} kWh discharged (V2G), ${(alloc.violations ?? []).length} required-export interval(s) not met`);
  }
  return [
    ...lines,
    '',
    `${INTERVALS} intervals of 15 min, time limit ${TIME_LIMIT_SEC} s, monolithic limit ${MONOLITHIC_LIMIT_SEC} s, Node ${process.version}.`,
    `V2G rows: ${V2G_SHARE * 100} % of the sessions V2G, site export limits, two-tariff prices (syntheticInstance).`,
    'prio rows: every 5th session a priority session, method priority at every size (withPrioritySessions).',
    'objective gap: (plan objective − monolithic optimum) / |monolithic optimum|, on the plan before rounding to 0.001 kW; proven gap: from the solver\'s own lower bound (exact for lp).',
    ...notes.map((n) => `- ${n}`),
  ].join('\n');
}

/** Columns of the instance's LP (sessions' EVSE × intervals where they can run), without building it. */
function countVariables(input: AllocationInput): number {
  const step = input.horizon.intervalMinutes * 60_000;
  const start = input.horizon.startMs;
  const end = start + input.horizon.count * step;
  let n = 0;
  for (const d of input.demands) {
    if (!(d.energyKwh > 0) && !d.v2g) continue;
    const from = Math.max(start, d.arrivalMs);
    const to = Math.min(end, d.departureMs);
    // A V2G session has a discharge column besides each charge column.
    if (to > from) n += (d.v2g ? 2 : 1) * (Math.ceil((to - start) / step) - Math.floor((from - start) / step));
  }
  return n;
}
