import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { fallbackAllocation } from '../../optimizer/index.ts';
import type { Allocation, AllocationInput } from '../../optimizer/model.ts';

export interface Solver {
  /** allocate() off the main thread; never rejects: a crash or overrun gives the optimizer's safe fallback. */
  allocate(input: AllocationInput): Promise<Allocation>;
  close(): Promise<void>;
}

interface Pending {
  resolve(a: Allocation): void;
  input: AllocationInput;
  timer: NodeJS.Timeout;
}

/** Grace beyond GLPK's own time limit: building and loading the LP are not counted by tmlim. */
const GRACE_MS = 15_000;

/**
 * One worker thread running the optimizer. Requests queue in the worker (runs are serialised per area
 * by the orchestrator anyway). A worker that overruns its budget is terminated and replaced.
 */
/**
 * Under tsx (sources run as TypeScript) the worker registers the same loader before importing its
 * module; Node 20 does not carry loader hooks into workers. From compiled output it starts directly.
 */
function startWorker(): Worker {
  const self = new URL(import.meta.url);
  if (!self.pathname.endsWith('.ts')) return new Worker(new URL('./solver-worker.js', self));
  return new Worker(new URL('./solver-worker-boot.mjs', self));
}

export function createSolver(opts: { log: Logger; timeLimitSec: number; graceMs?: number }): Solver {
  let worker: Worker | undefined;
  let seq = 0;
  const pending = new Map<number, Pending>();

  function fail(reason: string): void {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      pending.delete(id);
      p.resolve(fallbackAllocation(p.input, reason));
    }
  }

  function spawn(): Worker {
    const w = startWorker();
    w.on('message', (msg: { id: number; allocation?: Allocation; error?: string }) => {
      const p = pending.get(msg.id);
      if (!p) return;
      clearTimeout(p.timer);
      pending.delete(msg.id);
      p.resolve(msg.allocation ?? fallbackAllocation(p.input, `optimizer failed: ${msg.error ?? 'unknown error'}`));
    });
    // Only the current worker's death fails what is pending: a worker terminated for overrunning
    // has already been replaced, and its late exit must not touch the requests of its successor.
    w.on('error', (err) => {
      opts.log.error({ err }, 'solver worker crashed');
      if (worker !== w) return;
      worker = undefined;
      fail(`solver worker crashed: ${err.message}`);
    });
    w.on('exit', (code) => {
      if (worker !== w) return;
      worker = undefined;
      if (pending.size > 0) fail(`solver worker exited (${code})`);
    });
    w.unref();
    return w;
  }

  return {
    allocate(input) {
      return new Promise<Allocation>((resolve) => {
        const id = ++seq;
        const budgetMs = (input.timeLimitSec ?? opts.timeLimitSec) * 1000 + (opts.graceMs ?? GRACE_MS);
        const timer = setTimeout(() => {
          opts.log.error({ budgetMs }, 'solver worker overran its time budget: restarting it');
          const w = worker;
          worker = undefined;
          fail(`solver did not answer within ${budgetMs} ms`);
          void w?.terminate();
        }, budgetMs);
        pending.set(id, { resolve, input, timer });
        try {
          worker ??= spawn();
          worker.postMessage({ id, input });
        } catch (err) {
          opts.log.error({ err }, 'solver worker could not start');
          fail(`solver worker could not start: ${err instanceof Error ? err.message : String(err)}`);
        }
      });
    },
    async close() {
      fail('solver closed');
      const w = worker;
      worker = undefined;
      await w?.terminate();
    },
  };
}
