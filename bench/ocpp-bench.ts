/**
 * OCPP bench: N simulated stations (real WebSockets on loopback, in a child process) connect to one
 * CSMS, boot and keep sending heartbeats and meter values. Then the grid forecast "changes": every
 * station's new station-max profile is enqueued in the outbox in one transaction (what the dispatch plan
 * does after a re-allocation; the solver itself is benched by `optimizer`), and the real dispatcher
 * delivers them through the CSMS. Printed: time from the enqueue until each station's answer reached
 * the CSMS (median, p99, max), OCPP messages per second, and the CSMS process's RSS while it holds all
 * stations.
 *
 * `npm run bench -- ocpp` runs 1 000 stations; `npm run bench -- ocpp 1000,10000` both sizes.
 * Database: PGlite in memory, or PostgreSQL when BENCH_DATABASE_URL is set (a scratch database: the
 * bench creates tables in it). Station passwords are stored with scrypt N=1024 (bench only; the
 * admin API uses N=16384) so connecting 10 000 stations does not take minutes of key stretching.
 */
import { fork } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildStationProfiles } from '../grid-adapters/ocpp/profiles.ts';
import { loadConfig } from '../services/config.ts';
import type { ChannelHandler } from '../services/core/delivery.ts';
import { createDispatcher } from '../services/core/outbox-dispatcher.ts';
import { createLogger } from '../services/log.ts';
import { createMetrics } from '../services/metrics.ts';
import { createCsms } from '../services/ocpp/csms.ts';
import { attachOcppUpgrades } from '../services/ocpp/ocpp-tls.ts';
import type { Db } from '../services/store/db.ts';
import { migrate } from '../services/store/migrate.ts';
import { makeDueNow, enqueueMany } from '../services/store/outbox-store.ts';
import { createPgDb } from '../services/store/pg-db.ts';
import { createPgliteDb } from '../services/store/pglite-db.ts';

const PASSWORD = 'bench-station-password-0001';
const HEARTBEAT_S = 60;
const METER_S = 30;
const HOLD_S = 20;

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function runSize(n: number): Promise<string> {
  const db: Db = process.env.BENCH_DATABASE_URL ? createPgDb(process.env.BENCH_DATABASE_URL, 10) : await createPgliteDb();
  await migrate(db);
  const area = `bench-ga-${n}`;
  const prefix = `B${n}-`;
  const salt = randomBytes(16);
  const hash = ['scrypt', 1024, 8, 1, salt.toString('base64'), scryptSync(PASSWORD, salt, 32, { N: 1024, r: 8, p: 1 }).toString('base64')].join('$');
  await db.tx(async (q) => {
    await q.query(`DELETE FROM topology_node WHERE grid_area_id = $1`, [area]);
    await q.query(`INSERT INTO topology_node (id, kind, parent_id, grid_area_id) VALUES ($1, 'grid_area', NULL, $1)`, [area]);
    const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    await q.query(`INSERT INTO topology_node (id, kind, parent_id, grid_area_id, voltage_v, phases) SELECT id, 'station', $1, $1, 230, 3 FROM unnest($2::text[]) AS id`, [area, ids]);
    await q.query(`INSERT INTO topology_node (id, kind, parent_id, grid_area_id, max_power_kw, ocpp_evse_id) SELECT id || '-1', 'evse', id, $1, 22, 1 FROM unnest($2::text[]) AS id`, [area, ids]);
    await q.query(`INSERT INTO station_credential (station_id, password_hash) SELECT id, $2 FROM unnest($1::text[]) AS id`, [ids, hash]);
  });

  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', OUTBOX_POLL_MS: '50', OCPP_CALL_TIMEOUT_MS: '30000', OCPP_COMPOSITE_READBACK: 'false' });
  const log = createLogger(config.LOG_LEVEL);
  const metrics = createMetrics();
  const dispatcher = createDispatcher({ db, log, metrics, config });
  const csms = createCsms({
    db, log, metrics, config,
    events: {
      areaChanged: () => undefined,
      stationConnected: (stationId) => {
        void makeDueNow(db, stationId).then(() => dispatcher.kick());
      },
    },
  });
  const ackAt = new Map<string, number>();
  let tracking = false;
  let messages = 0;
  const channel: ChannelHandler = async (row) => {
    const r = await csms.channel(row);
    if (tracking && r.outcome === 'acked' && (row.payload as { chargingProfile?: { chargingProfilePurpose?: string } }).chargingProfile?.chargingProfilePurpose === 'ChargingStationMaxProfile') ackAt.set(row.target, performance.now());
    return r;
  };
  dispatcher.register('ocpp', channel);
  const server = createServer((_q, s) => s.writeHead(404).end());
  attachOcppUpgrades(server, csms);
  server.maxConnections = n + 100;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  dispatcher.start();

  const rssBefore = process.memoryUsage().rss;
  const child = fork(path.join(path.dirname(fileURLToPath(import.meta.url)), 'ocpp-sim-clients.ts'), [
    JSON.stringify({ endpoint: `ws://127.0.0.1:${port}/ocpp`, prefix, count: n, password: PASSWORD, heartbeatS: HEARTBEAT_S, meterS: METER_S, concurrency: 100 }),
  ], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const fromChild = <T>(type: string) => new Promise<T>((resolve) => child.on('message', (m: { type: string }) => m.type === type && resolve(m as T)));

  const tConnect = performance.now();
  const connected = await fromChild<{ ok: number; failed: number }>('connected');
  const connectS = (performance.now() - tConnect) / 1000;
  // Boot finished everywhere: each station's failsafe TxDefaultProfile was acknowledged.
  const failsafeDone = async () => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM outbox WHERE state = 'acked' AND dedupe_key LIKE $1`, [`ocpp/${prefix}%/failsafe`]))[0]!.n);
  await waitFor(async () => (await failsafeDone()) >= connected.ok, 600_000);
  const bootS = (performance.now() - tConnect) / 1000;

  // Hold: heartbeats and meter values flow; measure messages and RSS.
  const msgCount = async () => {
    child.send({ type: 'stats' });
    const s = await fromChild<{ sent: number; received: number }>('stats');
    return s.sent + s.received;
  };
  const m0 = await msgCount();
  const h0 = performance.now();
  await new Promise((r) => setTimeout(r, HOLD_S * 1000));
  const holdRate = ((await msgCount()) - m0) / ((performance.now() - h0) / 1000);
  const rssHold = process.memoryUsage().rss;

  // The forecast changes: a new station-max profile for every station, enqueued in one transaction.
  const horizon = { startMs: Math.floor(Date.now() / 900_000) * 900_000, intervalMinutes: 15, count: 96 };
  const plans = Array.from({ length: n }, (_, i) => {
    const stationId = `${prefix}${i}`;
    const cap = Array.from({ length: 96 }, (_, t) => 5 + ((i + t) % 12));
    return { stationId, msg: buildStationProfiles({ version: '2.0.1', stationId, horizon, nowMs: Date.now(), stationCapKw: cap, holdAfterHorizonKw: 5, evses: [] })[0]! };
  });
  const m1 = await msgCount();
  tracking = true;
  const t0 = performance.now();
  // as the dispatch plan does: one batch (enqueueMany) in the run's transaction
  await db.tx((q) => enqueueMany(q, plans.map((p) => ({ channel: 'ocpp' as const, target: p.stationId, action: p.msg.action, payload: p.msg.payload, dedupeKey: `ocpp/${p.msg.slot}` }))));
  const enqueuedMs = performance.now() - t0;
  const tKick = performance.now();
  dispatcher.kick();
  const all = await waitFor(() => ackAt.size >= connected.ok, 600_000);
  const elapsedS = (performance.now() - t0) / 1000;
  messages = (await msgCount()) - m1;
  const lat = [...ackAt.values()].map((v) => v - t0).sort((a, b) => a - b);
  const fromKick = [...ackAt.values()].map((v) => v - tKick).sort((a, b) => a - b);
  const rssPeak = Math.max(rssHold, process.memoryUsage().rss);

  child.send({ type: 'stop' });
  await dispatcher.stop();
  await csms.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await db.close();

  const mib = (b: number) => `${Math.round(b / 1024 / 1024)} MiB`;
  return [
    `| ${n} stations | |`,
    `|---|---|`,
    `| connected / failed | ${connected.ok} / ${connected.failed} (in ${connectS.toFixed(1)} s; booted + failsafe acked in ${bootS.toFixed(1)} s) |`,
    `| held ${HOLD_S} s (heartbeat ${HEARTBEAT_S} s, meter values ${METER_S} s) | ${Math.round(holdRate)} msg/s |`,
    `| forecast change → every station answered | ${all ? 'yes' : `NO (${ackAt.size} of ${connected.ok})`} in ${elapsedS.toFixed(2)} s (enqueue ${enqueuedMs.toFixed(0)} ms) |`,
    `| profile answer latency median / p99 / max (from the start of the enqueue) | ${pct(lat, 50).toFixed(0)} / ${pct(lat, 99).toFixed(0)} / ${pct(lat, 100).toFixed(0)} ms |`,
    `| same, from the dispatcher kick (delivery only) | ${pct(fromKick, 50).toFixed(0)} / ${pct(fromKick, 99).toFixed(0)} / ${pct(fromKick, 100).toFixed(0)} ms |`,
    `| messages/s during the change | ${Math.round(messages / elapsedS)} |`,
    `| CSMS RSS before / holding / peak | ${mib(rssBefore)} / ${mib(rssHold)} / ${mib(rssPeak)} |`,
  ].join('\n');
}

export async function ocppBench(sizes: number[] = [1000]): Promise<string> {
  const out: string[] = [`db: ${process.env.BENCH_DATABASE_URL ? 'PostgreSQL' : 'PGlite (in memory)'}; open files limit here: see \`ulimit -n\` (each side of 10 000 stations needs > 10 000)`];
  for (const n of sizes) out.push(await runSize(n));
  return out.join('\n\n');
}
