import cron from 'node-cron';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Orchestrator } from './core/orchestrator.ts';
import type { Dispatcher } from './core/outbox-dispatcher.ts';
import type { Db } from './store/db.ts';
import { listGridAreas } from './store/topology-store.ts';
import { oscpTick, pruneSeenRequests } from './oscp/index.ts';
import type { Metrics } from './metrics.ts';

const REPLAY_WINDOW_MS = 7 * 86_400_000;

/**
 * Time-driven work: at every interval boundary the horizon moves, so every grid area is re-allocated
 * (new intervals enter the schedule, departures pass); OSCP heartbeats go out on the peers' schedule.
 */
export function createScheduler(deps: { db: Db; log: Logger; metrics: Metrics; config: Config; orchestrator: Orchestrator; dispatcher: Dispatcher }) {
  const { db, log, metrics, config, orchestrator, dispatcher } = deps;
  const tasks: { stop(): void | Promise<void> }[] = [];
  return {
    start() {
      tasks.push(
        cron.schedule(`5 */${config.INTERVAL_MINUTES} * * * *`, async () => {
          try {
            for (const a of await listGridAreas(db)) orchestrator.request(a.id, 'interval');
          } catch (err) {
            log.error({ err }, 'scheduled re-allocation failed');
          }
        }),
        cron.schedule('*/10 * * * * *', async () => {
          try {
            // offline check (fallback forecasts), heartbeats, measurements, measured compliance
            const r = await oscpTick(db, Date.now(), { config, log, metrics });
            for (const a of r.gridAreaIds) orchestrator.request(a, 'oscp-offline');
            if (r.queued > 0) dispatcher.kick();
          } catch (err) {
            log.error({ err }, 'OSCP periodic work failed');
          }
        }),
        // OSCP X-Request-IDs are remembered for replay protection; a week is far beyond any retry.
        cron.schedule('17 3 * * *', async () => {
          try {
            await pruneSeenRequests(db, Date.now() - REPLAY_WINDOW_MS);
          } catch (err) {
            log.error({ err }, 'pruning OSCP request ids failed');
          }
        }),
      );
    },
    stop() {
      for (const t of tasks) void t.stop();
      tasks.length = 0;
    },
  };
}
