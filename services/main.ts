import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { openDb } from './store/open-db.ts';
import { migrate } from './store/migrate.ts';
import type { Db } from './store/db.ts';
import { makeDueNow } from './store/outbox-store.ts';
import { createDispatcher, type Dispatcher } from './core/outbox-dispatcher.ts';
import { createOrchestrator, type Orchestrator } from './core/orchestrator.ts';
import { createSolver } from './core/solver.ts';
import { createScheduler } from './scheduler.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from './mqtt/embedded-broker.ts';
import { openadrMqttAuthority } from './openadr/mqtt-acl.ts';
import { createMqttPublisher, type MqttPublisher } from './mqtt/mqtt-channel.ts';
import { createCsms, type Csms } from './ocpp/csms.ts';
import { startOcppTlsFromConfig } from './ocpp/ocpp-tls.ts';
import { ocppExternalLimitEnvelopes } from './ocpp/limit-store.ts';
import { stationEvseIds } from './ocpp/profile-admin.ts';
import { createOscpFpRouter, createOscpCpRouter, createOscpChannel, oscpAdminRoutes, oscpAfterAllocation, oscpEnvelopeLoader } from './oscp/index.ts';
import { createHttpApp } from './http/app.ts';
import { adminAuth } from './http/admin-auth.ts';
import { topologyRoutes } from './api/topology-routes.ts';
import { areaRoutes } from './api/area-routes.ts';
import { stationRoutes } from './api/station-routes.ts';
import { oscpPeerRoutes } from './api/oscp-peer-routes.ts';
import {
  createOpenadrVtn, openadrAdminRoutes, openadrEnvelopeSource, openadrPriceSource, openadrSimpleEnvelopeSource, openadrVenFromConfig, parseSimpleReductions,
  OPENADR_VTN_BASE_PATH, OPENADR_301_BASE_PATH, OPENADR_VEN_CALLBACK_PATH,
} from './openadr/index.ts';
import { parseTariff, withTariff } from './core/tariff.ts';
import { statusPage } from './web/status-page.ts';

export interface Gridflex {
  config: Config;
  url: string;
  port: number;
  adminToken: string;
  adminTokenGenerated: boolean;
  mqttUrl: string;
  db: Db;
  log: Logger;
  metrics: Metrics;
  orchestrator: Orchestrator;
  dispatcher: Dispatcher;
  csms: Csms;
  stop(): Promise<void>;
}

/**
 * The composition root: builds every part with plain factories and wires them. Tests call it with
 * other settings (port 0, a test database) and get the same graph.
 */
export async function startGridflex(config: Config, opts: { log?: Logger } = {}): Promise<Gridflex> {
  const log = opts.log ?? createLogger(config.LOG_LEVEL);
  const metrics = createMetrics();
  const dataDir = path.resolve(config.GRIDFLEX_DATA_DIR);
  if (!config.DATABASE_URL) await mkdir(dataDir, { recursive: true });
  const db = await openDb({ ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}), dataDir: path.join(dataDir, 'pglite'), maxConnections: config.DATABASE_MAX_CONNECTIONS, connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS, statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS });
  const applied = await migrate(db);
  if (applied.length) log.info({ applied }, 'database migrated');

  const { token: adminToken, generated: adminTokenGenerated } = await resolveAdminToken(config, dataDir);

  let broker: EmbeddedBroker | undefined;
  let mqttUrl = config.MQTT_URL;
  let mqttAuth: { username?: string; password?: string } = {};
  if (!mqttUrl) {
    broker = await startEmbeddedBroker({ port: config.MQTT_EMBEDDED_PORT, topicPrefix: config.MQTT_TOPIC_PREFIX });
    mqttUrl = broker.url;
    mqttAuth = broker.internalUser;
  }
  const mqtt: MqttPublisher = createMqttPublisher({ url: mqttUrl, log, ...mqttAuth });

  const dispatcher = createDispatcher({ db, log, metrics, config });
  const solver = createSolver({ log, timeLimitSec: config.SOLVER_TIME_LIMIT_S });
  const orchestrator = createOrchestrator({
    db, log, metrics, config, dispatcher, solver,
    loadForecasts: oscpEnvelopeLoader(config),
    envelopeSources: [openadrEnvelopeSource, ocppExternalLimitEnvelopes, openadrSimpleEnvelopeSource(parseSimpleReductions(config.OPENADR_SIMPLE_REDUCTIONS))],
    priceSource: config.TARIFF ? withTariff(openadrPriceSource, parseTariff(config.TARIFF), config.TARIFF_TIME_ZONE) : openadrPriceSource,
    afterAllocation: (q, a) => oscpAfterAllocation(q, { ...a, config }),
  });
  const csms = createCsms({
    db, log, metrics, config,
    events: {
      areaChanged: (gridAreaId, reason) => orchestrator.request(gridAreaId, reason),
      stationConnected: (stationId, gridAreaId) => {
        // A station that (re)connects gets what is pending for it and a fresh allocation.
        makeDueNow(db, stationId)
          .then(() => dispatcher.kick())
          .catch((err: unknown) => log.error({ err, stationId }, 'outbox wake-up failed'));
        orchestrator.request(gridAreaId, 'station-connected');
      },
    },
  });
  const onSignals = (a: string) => orchestrator.request(a, 'openadr');
  const openadr = createOpenadrVtn({ db, log, metrics, config, onSignalsChanged: onSignals });
  // Embedded broker: OpenADR clients log in with their access token and read only their topics.
  broker?.setAuthority(openadrMqttAuthority({ db, issuer: openadr.issuer, topicRoot: `${config.MQTT_TOPIC_PREFIX}/openadr3` }));
  const ven = openadrVenFromConfig(config, { db, log, onSignalsChanged: onSignals });
  dispatcher.register('openadr', openadr.channel);
  // owner: only stations whose station_state names this instance (several instances, docs/operations.md)
  dispatcher.register('ocpp', csms.channel, { localTargets: () => csms.connectedStations().map((c) => c.stationId), owner: csms.instanceId });
  dispatcher.register('mqtt', mqtt.channel);
  dispatcher.register('oscp', createOscpChannel({ db, log, metrics, config }));

  let publicUrl = config.PUBLIC_URL ?? '';
  const auth = adminAuth(adminToken);
  const onAreaChanged = (a: string, r: string) => orchestrator.request(a, r);
  let started = false;
  const { app } = createHttpApp({
    log, metrics, db,
    maxBodyBytes: config.MAX_BODY_BYTES,
    ready: () => started,
    protocolRouters: [
      { path: '/oscp/fp/2.0', router: createOscpFpRouter({ db, log, metrics, config, get publicBaseUrl() { return publicUrl; }, onForecast: (a) => orchestrator.request(a, 'forecast') }) },
      // getters, not spreads: the public URL is known only once the server listens
      { path: '/oscp/cp/2.0', router: createOscpCpRouter({ db, log, metrics, config, get publicBaseUrl() { return publicUrl; } }) },
      { path: OPENADR_VTN_BASE_PATH, router: openadr.router },
      { path: OPENADR_301_BASE_PATH, router: openadr.router301 },
      ...(ven ? [{ path: OPENADR_VEN_CALLBACK_PATH, router: ven.webhookRouter }] : []),
    ],
    adminApi: (api) => {
      topologyRoutes(api, {
        db, auth, onAreaChanged,
        // a station leaving the topology: its gridflex profiles are cleared and nothing queued reinstalls them
        beforeStationsRemoved: async (ids) => {
          for (const id of ids) {
            await db.query(`UPDATE outbox SET state = 'superseded', updated_at = now() WHERE channel = 'ocpp' AND target = $1 AND state IN ('pending','in_flight')`, [id]);
            if (csms.isConnected(id)) await csms.clearGridflexProfiles(id, await stationEvseIds(db, id));
          }
        },
      });
      areaRoutes(api, { db, auth, orchestrator });
      stationRoutes(api, { db, auth, csms, priority: { config, kick: () => dispatcher.kick(), areaChanged: onAreaChanged } });
      oscpPeerRoutes(api, { db, auth });
      oscpAdminRoutes(api, { db, auth, publicBaseUrl: () => publicUrl });
      openadrAdminRoutes(api, { db, auth, onSignalsChanged: onSignals });
    },
    pages: (a) => statusPage(a, { db, auth, csms, adminToken }),
  });

  const server: Server = createServer(app);
  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').startsWith('/ocpp/')) csms.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST}:${port}`;
  if (!publicUrl) publicUrl = url;

  // OCPP security profiles 2 and 3 (TLS, mutual TLS) on their own port when OCPP_TLS_PORT is set
  const ocppTls = await startOcppTlsFromConfig(csms, config);
  dispatcher.start();
  const scheduler = createScheduler({ db, log, metrics, config, orchestrator, dispatcher });
  scheduler.start();
  ven?.start();
  started = true;
  log.info({ url, database: db.kind, mqtt: mqttUrl }, 'gridflex started');

  return {
    config, url, port, adminToken, adminTokenGenerated, mqttUrl, db, log, metrics, orchestrator, dispatcher, csms,
    async stop() {
      started = false;
      scheduler.stop();
      ven?.stop();
      await orchestrator.stop();
      await dispatcher.stop();
      await solver.close();
      await csms.close();
      await ocppTls?.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await mqtt.close().catch(() => undefined);
      await broker?.close().catch(() => undefined);
      await db.close();
    },
  };
}

/**
 * GRIDFLEX_ADMIN_TOKEN when set. Otherwise (development only; config refuses production without it) a
 * random token kept in the data folder, so it survives restarts of the embedded setup.
 */
async function resolveAdminToken(config: Config, dataDir: string): Promise<{ token: string; generated: boolean }> {
  if (config.GRIDFLEX_ADMIN_TOKEN) return { token: config.GRIDFLEX_ADMIN_TOKEN, generated: false };
  const file = path.join(dataDir, 'admin-token');
  try {
    const t = (await readFile(file, 'utf8')).trim();
    if (t.length >= 16) return { token: t, generated: true };
  } catch {
    // first start: create it below
  }
  const token = randomBytes(24).toString('base64url');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, token + '\n', { mode: 0o600 });
  return { token, generated: true };
}
