import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { verifyAllocation } from '../../optimizer/index.ts';
import type { Allocation, AllocationInput, CapacityEnvelope, Horizon, TopologyNode } from '../../optimizer/model.ts';
import { alignToInterval } from '../../optimizer/model.ts';
import type { Config } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import { loadActiveDemands } from '../ocpp/session-store.ts';
import { saveRun } from '../store/allocation-store.ts';
import type { Db, Queryable } from '../store/db.ts';
import { loadEnvelopes } from '../store/forecast-store.ts';
import { listAreaNodes, listCposByCreation, type StoredNode } from '../store/topology-store.ts';
import type { Dispatcher } from './outbox-dispatcher.ts';
import type { Solver } from './solver.ts';
import { planDispatch } from './dispatch-plan.ts';
import { sharingSpec } from './sharing-spec.ts';

export interface RunResult {
  runId: number;
  gridAreaId: string;
  status: Allocation['status'];
  verified: boolean;
  violations: string[];
  messages: number;
  solveMs: number;
}

export interface Orchestrator {
  /** Asks for a re-allocation of a grid area soon; requests within the debounce window coalesce. */
  request(gridAreaId: string, reason: string): void;
  /** Re-allocates now (serialised with any run of the same area) and dispatches the result. */
  runNow(gridAreaId: string, reason: string): Promise<RunResult>;
  /** Resolves when no run is pending or in progress (tests, shutdown). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Where capacity limits come from besides OSCP forecasts (e.g. OpenADR events, IEEE 2030.5 DERControls).
 * Every source's envelopes apply together: the optimizer takes the lowest limit per node and interval.
 */
export type EnvelopeSource = (q: Queryable, nodeIds: string[], horizon: Horizon) => Promise<CapacityEnvelope[]>;

export interface OrchestratorDeps {
  db: Db;
  log: Logger;
  metrics: Metrics;
  config: Config;
  dispatcher: Dispatcher;
  solver: Solver;
  envelopeSources?: EnvelopeSource[];
  /** Energy price per horizon interval for a grid area (e.g. OpenADR PRICE events); null = none known. */
  priceSource?: (q: Queryable, gridAreaId: string, nodeIds: string[], horizon: Horizon) => Promise<(number | null)[] | undefined>;
  /** Forecast loader; default loadEnvelopes (OSCP offline mode swaps in FALLBACK forecasts). */
  loadForecasts?: EnvelopeSource;
  /** Extra messages from a verified allocation, in its transaction (e.g. OSCP CPO shares, compliance). */
  afterAllocation?: (q: Queryable, a: { gridAreaId: string; allocation: Allocation; nowMs: number }) => Promise<number>;
  now?: () => number;
}

/**
 * On a new forecast, session change or station (re)connect: allocate the grid area, verify the result
 * independently, persist run + setpoints + outbox messages in one transaction, then kick delivery.
 * An allocation that fails verification is stored for the decision trail but never dispatched.
 */
export function createOrchestrator(deps: OrchestratorDeps): Orchestrator {
  const { db, log, metrics, config, dispatcher } = deps;
  const now = deps.now ?? Date.now;
  const timers = new Map<string, { timer: NodeJS.Timeout; reasons: Set<string> }>();
  const chains = new Map<string, Promise<unknown>>();
  /** Per grid area: the digest of the last solved input and its allocation (not kept for a fallback). */
  const lastSolved = new Map<string, { digest: string; allocation: Allocation }>();
  let stopped = false;

  async function buildInput(db: Queryable, gridAreaId: string, atMs: number): Promise<{ input: AllocationInput; stored: StoredNode[]; txByEvse: Map<string, string> }> {
    const horizon = { startMs: alignToInterval(atMs, config.INTERVAL_MINUTES), intervalMinutes: config.INTERVAL_MINUTES, count: config.HORIZON_INTERVALS };
    const stored = await listAreaNodes(db, gridAreaId);
    const nodes: TopologyNode[] = stored.map((n) => ({
      id: n.id, kind: n.kind, parentId: n.parentId,
      ...(n.importLimitKw !== undefined ? { importLimitKw: n.importLimitKw } : {}),
      ...(n.exportLimitKw !== undefined ? { exportLimitKw: n.exportLimitKw } : {}),
      ...(n.maxPowerKw !== undefined ? { maxPowerKw: n.maxPowerKw } : {}),
      ...(n.minPowerKw !== undefined ? { minPowerKw: n.minPowerKw } : {}),
      // per-phase limits: the stored voltage and phases of a node (station) are its supply (docs/optimizer.md)
      ...(n.importLimitA !== undefined ? { importLimitA: n.importLimitA } : {}),
      ...(n.exportLimitA !== undefined ? { exportLimitA: n.exportLimitA } : {}),
      ...(n.phases === 1 || n.phases === 3 ? { phaseCount: n.phases } : {}),
      ...(n.voltageV !== null && n.voltageV > 0 ? { phaseVoltageV: n.voltageV } : {}),
      ...(n.phase ? { phase: n.phase } : {}),
    }));
    const nodeIds = nodes.map((n) => n.id);
    const envelopes = await (deps.loadForecasts ?? loadEnvelopes)(db, nodeIds, horizon);
    for (const source of deps.envelopeSources ?? []) envelopes.push(...(await source(db, nodeIds, horizon)));
    const active = await loadActiveDemands(db, gridAreaId, atMs, { energyKwh: config.DEFAULT_SESSION_ENERGY_KWH, hours: config.DEFAULT_SESSION_HOURS });
    const txByEvse = new Map(active.map((d) => [d.evseId, d.transactionId]));
    const demands = active.map(({ stationId: _s, transactionId: _t, ...d }) => d);
    const prices = deps.priceSource ? await deps.priceSource(db, gridAreaId, nodeIds, horizon) : undefined;
    const cpos = stored.filter((n) => n.kind === 'cpo');
    const creationOrder = config.SHARING_POLICY === 'fcfs' && cpos.length > 1 ? await listCposByCreation(db, gridAreaId) : [];
    const sharing = sharingSpec(config.SHARING_POLICY, cpos, creationOrder);
    const input: AllocationInput = {
      horizon, nodes, envelopes, demands, timeLimitSec: config.SOLVER_TIME_LIMIT_S,
      ...(prices ? { pricePerKwh: prices } : {}),
      ...(sharing ? { sharing } : {}),
      ...(config.CHURN_PENALTY_PER_KW > 0 ? { churnPenaltyPerKw: config.CHURN_PENALTY_PER_KW } : {}),
      ...(config.MIN_POWER_MODE !== 'rounding' ? { minPowerMode: config.MIN_POWER_MODE } : {}),
    };
    return { input, stored, txByEvse };
  }

  /**
   * Several instances share one database (ARCHITECTURE.md, scaling): on PostgreSQL a run holds a
   * transaction-scoped advisory lock on its grid area from reading the inputs to storing the outbox, so
   * one area is never solved twice at once and the second run sees the first one's result. PGlite is one
   * process: the per-area chain below is enough, and a long transaction would block the single connection.
   */
  async function run(gridAreaId: string, reason: string): Promise<RunResult> {
    const r =
      db.kind !== 'pg'
        ? await runWith(db, gridAreaId, reason, (fn) => db.tx(fn))
        : await db.tx(async (q) => {
            // Waiting for another instance's run of the area (a solve of up to SOLVER_TIME_LIMIT_S) is
            // not a hung query: the wait is exempt from DATABASE_STATEMENT_TIMEOUT_MS, the run is not.
            await q.query('SET LOCAL statement_timeout = 0');
            await q.query('SELECT pg_advisory_xact_lock(7310100, hashtext($1))', [gridAreaId]);
            await q.query('SET LOCAL statement_timeout TO DEFAULT');
            return runWith(q, gridAreaId, reason, (fn) => fn(q));
          });
    // only after the commit: the dispatcher must find the messages
    if (r.messages > 0) dispatcher.kick();
    return r;
  }

  async function runWith(q0: Queryable, gridAreaId: string, reason: string, inTx: <T>(fn: (q: Queryable) => Promise<T>) => Promise<T>): Promise<RunResult> {
    const atMs = now();
    // the dispatch plan uses the same topology the allocation was made for
    const { input, stored, txByEvse } = await buildInput(q0, gridAreaId, atMs);
    const digest = createHash('sha256').update(JSON.stringify(input)).digest('hex');
    // Re-optimization on change (issue #4): the optimizer is a pure function of its input, so an area whose
    // input is unchanged since its last solve in this process gets that result again without solving.
    const last = lastSolved.get(gridAreaId);
    const reused = last !== undefined && last.digest === digest;
    const alloc = reused ? last.allocation : await deps.solver.allocate(input);
    if (alloc.status === 'fallback') lastSolved.delete(gridAreaId);
    else lastSolved.set(gridAreaId, { digest, allocation: alloc });
    const check = verifyAllocation(input, alloc);
    if (!reused) metrics.solveSeconds.observe({ grid_area: gridAreaId, status: alloc.status }, alloc.solveMs / 1000);
    metrics.allocationRuns.inc({ grid_area: gridAreaId, status: alloc.status, verified: String(check.ok) });
    metrics.unmetEnergy.set({ grid_area: gridAreaId }, alloc.unmet.reduce((s, u) => s + u.kwh, 0));
    const impossible = alloc.violations ?? [];
    metrics.limitViolations.set({ grid_area: gridAreaId }, impossible.reduce((m, v) => Math.max(m, v.excessKw), 0));
    // the input asked for more than the fleet can do (e.g. required export); the plan is still the closest safe one
    if (impossible.length > 0) log.warn({ gridAreaId, violations: impossible.slice(0, 20), count: impossible.length }, 'allocation cannot keep every limit the input asks for');
    const { runId, messages } = await inTx(async (q) => {
      const id = await saveRun(q, { gridAreaId, trigger: reason, inputsDigest: digest, verified: check.ok, violations: check.violations, allocation: alloc });
      if (!check.ok) return { runId: id, messages: 0 };
      const n = await planDispatch(q, { runId: id, gridAreaId, allocation: alloc, nodes: stored, txByEvse, nowMs: atMs, config, log, ...(input.pricePerKwh ? { prices: input.pricePerKwh } : {}) });
      const extra = deps.afterAllocation ? await deps.afterAllocation(q, { gridAreaId, allocation: alloc, nowMs: atMs }) : 0;
      return { runId: id, messages: n + extra };
    });
    const fields = { gridAreaId, runId, reason, status: alloc.status, solveMs: Math.round(alloc.solveMs), reused, demands: input.demands.length, messages };
    if (!check.ok) log.error({ ...fields, violations: check.violations.slice(0, 20) }, 'allocation failed verification: not dispatched');
    else log.info(fields, 'allocation dispatched');
    return { runId, gridAreaId, status: alloc.status, verified: check.ok, violations: check.violations, messages, solveMs: alloc.solveMs };
  }

  function runNow(gridAreaId: string, reason: string): Promise<RunResult> {
    const prev = chains.get(gridAreaId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => run(gridAreaId, reason));
    const tail = next.catch(() => undefined);
    chains.set(gridAreaId, tail);
    void tail.then(() => {
      if (chains.get(gridAreaId) === tail) chains.delete(gridAreaId);
    });
    return next;
  }

  return {
    request(gridAreaId, reason) {
      if (stopped) return;
      const pending = timers.get(gridAreaId);
      if (pending) {
        pending.reasons.add(reason);
        return;
      }
      const reasons = new Set([reason]);
      const timer = setTimeout(() => {
        timers.delete(gridAreaId);
        runNow(gridAreaId, [...reasons].join(',')).catch((err: unknown) => log.error({ err, gridAreaId }, 're-allocation failed'));
      }, config.REALLOCATE_DEBOUNCE_MS);
      timers.set(gridAreaId, { timer, reasons });
    },
    runNow,
    async idle() {
      for (;;) {
        if (timers.size === 0 && chains.size === 0) return;
        await Promise.all([...chains.values()]);
        if (timers.size > 0) await new Promise((r) => setTimeout(r, config.REALLOCATE_DEBOUNCE_MS + 10));
      }
    },
    async stop() {
      stopped = true;
      for (const { timer } of timers.values()) clearTimeout(timer);
      timers.clear();
      await Promise.all([...chains.values()]);
    },
  };
}
