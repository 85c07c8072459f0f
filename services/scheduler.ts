import cron from 'node-cron';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Orchestrator } from './core/orchestrator.ts';
import type { Dispatcher } from './core/outbox-dispatcher.ts';
import type { Db } from './store/db.ts';
import { listGridAreas } from './store/topology-store.ts';
import { enqueueHeartbeats, pruneSeenRequests } from './oscp/index.ts';

const REPLAY_WINDOW_MS = 7 * 86_400_000;

/**
 * Time-driven work: at every interval boundary the horizon moves, so every grid area is re-allocated
 * (new intervals enter the schedule, departures pass); OSCP heartbeats go out on the peers' schedule.
 */
export function createScheduler(deps: { db: Db; log: Logger; config: Config; orchestrator: Orchestrator; dispatcher: Dispatcher }) {
  const { db, log, config, orchestrator, dispatcher } = deps;
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
            if ((await enqueueHeartbeats(db, Date.now())) > 0) dispatcher.kick();
          } catch (err) {
            log.error({ err }, 'OSCP heartbeat scheduling failed');
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
