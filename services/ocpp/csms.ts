/**
 * The CSMS: OCPP-J 1.6, 2.0.1 and 2.1 over WebSocket at /ocpp/{stationId}, security profiles 1 (HTTP
 * Basic), 2 (TLS + Basic) and 3 (mutual TLS) per station (ocpp_station_security; TLS by ocpp-tls.ts).
 *
 * - Upgrade: the path must be /ocpp/{stationId} (404 otherwise); an identity that is not a station in
 *   the topology gets 404 (OCPP-J 2.0.1 §3.2: "SHOULD send an HTTP response with status 404"); missing
 *   or wrong Basic credentials (username = station id) get 401.
 * - Subprotocols ocpp2.1, ocpp2.0.1 and ocpp1.6, in that preference order. With none in common the
 *   handshake completes without a Sec-WebSocket-Protocol header and the socket is closed at once
 *   (OCPP-J §3.2, MUST).
 * - strictMode: every inbound and outbound message is validated against the official schemas bundled
 *   with ocpp-rpc; invalid CALLs are answered with the matching CALLERROR, spelled per version.
 * - One connection per station: a new one replaces the old one.
 */
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { RPCServer } from 'ocpp-rpc';
import type * as ServerClientModule from 'ocpp-rpc/lib/server-client.js';
import { normalizeOutboundFrame } from '../../grid-adapters/ocpp/error-codes.ts';
import { foreignProfiles, gridflexProfileIds, type InstalledProfile } from '../../grid-adapters/ocpp/installed-profiles.ts';
import { isV2, type OcppVersion } from '../../grid-adapters/ocpp/profiles.ts';
import type { Config } from '../config.ts';
import type { ChannelHandler } from '../core/delivery.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { audit } from '../store/audit-store.ts';
import type { Db } from '../store/db.ts';
import { attachHandlers, knownActions, type CsmsEvents, type HandlerContext, type HandlerTable } from './handler-context.ts';
import { handlers16 } from './handlers-16.ts';
import { evScheduleHandlers2x } from './ev-schedule-201.ts';
import { handlers201 } from './handlers-201.ts';
import { limitHandlers2x } from './limits-201.ts';
import { notifications16, notifications201 } from './notifications.ts';
import { priorityHandlers21 } from './priority-charging-21.ts';
import { createOcppChannel, strictValidators, SUBPROTOCOL } from './ocpp-channel.ts';
import { transportOf } from './ocpp-tls.ts';
import { clearChargingProfiles, createProfileReports, stationEvseIds, type ClearResult, type GetProfilesOptions, type InstalledProfiles } from './profile-admin.ts';
import { stationSecurityProfile } from './smart-store.ts';
import { verifyStationPassword } from './station-credentials.ts';
import { findStation, markConnected, markDisconnected, touchStation } from './station-store.ts';
import { smartMetrics } from './ocpp-smart-metrics.ts';
import { createSmartCharging, type StationLink } from './smart-charging.ts';
import { parseOcppPath, refuseUpgrade } from './upgrade.ts';

export type { CsmsEvents } from './handler-context.ts';

export interface CsmsDeps {
  db: Db;
  log: Logger;
  metrics: Metrics;
  config: Config;
  events: CsmsEvents;
  /**
   * 2.0.1 / 2.1: after every connect, ask the station for its installed profiles and log + audit the ones
   * gridflex did not install (checkInstalledProfiles). Default off.
   */
  checkProfilesOnConnect?: boolean;
  /**
   * Names this process in station_state.connected_instance (migration 017): several instances on one
   * database each deliver only to the stations whose row names them. Default: a random id.
   */
  instanceId?: string;
}

export interface Csms {
  /** Handles an HTTP upgrade for a path under /ocpp/ (the caller routes only those here). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  isConnected(stationId: string): boolean;
  connectedStations(): { stationId: string; version: string; since: number }[];
  /** Outbox channel 'ocpp': delivers a row as a CALL to the connected station. */
  channel: ChannelHandler;
  /**
   * 2.0.1 / 2.1 GetChargingProfiles + ReportChargingProfiles (K09): the profiles installed on a connected
   * station; undefined when it is not connected here. 1.6: `supported: false` (no such message).
   */
  getInstalledProfiles(stationId: string, options?: GetProfilesOptions): Promise<InstalledProfiles | undefined>;
  /**
   * After a (re)connect: asks the station for every installed profile and returns those gridflex did not
   * install (grid-adapters/ocpp/installed-profiles.ts), logged and audited (`ocpp.ForeignProfiles`).
   * undefined when not connected, 1.6, or the station could not answer. Never rejects.
   */
  checkInstalledProfiles(stationId: string): Promise<InstalledProfile[] | undefined>;
  /**
   * ClearChargingProfile (K10; 1.6 §5.5) for every profile id gridflex installs on the station (1, 2,
   * 100 + each EVSE id: `ocppEvseIds`, else the station's EVSEs in the topology). undefined when not
   * connected here. Never rejects; audited (`ocpp.ProfilesCleared`).
   */
  clearGridflexProfiles(stationId: string, ocppEvseIds?: number[]): Promise<ClearResult[] | undefined>;
  /** The owner token written to station_state.connected_instance for the stations connected here. */
  readonly instanceId: string;
  close(): Promise<void>;
}

/** Where the server mounts: identity = the path segment after it. */
export const OCPP_ENDPOINT = '/ocpp';

const VERSIONS: Record<string, OcppVersion> = { 'ocpp2.1': '2.1', 'ocpp2.0.1': '2.0.1', 'ocpp1.6': '1.6' };
const TABLES: Record<OcppVersion, HandlerTable> = {
  // OCPP 2.1 is a superset of 2.0.1 for every message gridflex handles (same required fields; the
  // params are validated against the 2.1 schemas), so the same handlers serve both.
  '2.1': { ...notifications201, ...handlers201, ...evScheduleHandlers2x, ...limitHandlers2x, ...priorityHandlers21 },
  '2.0.1': { ...notifications201, ...handlers201, ...evScheduleHandlers2x, ...limitHandlers2x },
  '1.6': { ...notifications16, ...handlers16 },
};
/** last_seen_at is refreshed at most this often by ordinary traffic (heartbeats always write). */
const TOUCH_EVERY_MS = 30_000;
/** How long close() lets stations finish their close handshake before cutting the sockets. */
const CLOSE_GRACE_MS = 3_000;
/** ocpp-rpc client state OPEN (as WebSocket readyState). */
const OPEN = 1;

/** ocpp-rpc's server-side connection (its .d.ts declares an ES default export on a CommonJS module). */
type RpcServerClient = ServerClientModule.default;

interface Session {
  stationId: string;
  gridAreaId: string;
}

interface Connection {
  client: RpcServerClient;
  version: OcppVersion;
  since: number;
  gridAreaId: string;
}

export function createCsms(deps: CsmsDeps): Csms {
  const { db, log, metrics, config, events } = deps;
  const instanceId = deps.instanceId ?? randomUUID();
  const connections = new Map<string, Connection>();
  const pending = new Set<Promise<unknown>>();
  /** Connection bookkeeping per station runs in order, so a quick disconnect cannot be overtaken by its own connect. */
  const stateChains = new Map<string, Promise<unknown>>();
  let closing = false;
  const smart = createSmartCharging({ db, log, metrics, config });
  const reports = createProfileReports();

  const server = new RPCServer({
    // Preference order: the first of ours the station also offers wins.
    protocols: [SUBPROTOCOL['2.1'], SUBPROTOCOL['2.0.1'], SUBPROTOCOL['1.6']],
    strictMode: true,
    // 1.6 / 2.0.1 / 2.1 schemas; an outbox payload the channel has just checked is not checked twice.
    strictModeValidators: strictValidators(),
    callTimeoutMs: config.OCPP_CALL_TIMEOUT_MS,
    // OCPP-J §4.1.1: one outstanding CALL per connection.
    callConcurrency: 1,
    respondWithDetailedErrors: false,
  });

  /** Runs background bookkeeping; close() waits for it, and a failure is logged, never thrown. */
  function track(what: string, fields: Record<string, unknown>, p: Promise<unknown>): void {
    const t = p.catch((err: unknown) => log.error({ ...fields, err }, `${what} failed`)).finally(() => pending.delete(t));
    pending.add(t);
  }

  function inOrder(stationId: string, fn: () => Promise<unknown>): Promise<unknown> {
    const next = (stateChains.get(stationId) ?? Promise.resolve()).catch(() => undefined).then(fn);
    stateChains.set(stationId, next);
    void next.catch(() => undefined).then(() => {
      if (stateChains.get(stationId) === next) stateChains.delete(stationId);
    });
    return next;
  }

  function safeEvent(name: string, fields: Record<string, unknown>, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      log.error({ ...fields, err }, `${name} listener failed`);
    }
  }

  server.auth(async (accept, reject, handshake) => {
    const fields = { stationId: handshake.identity, remoteAddress: handshake.remoteAddress };
    try {
      if (closing) return reject(503, 'Service Unavailable');
      if (handshake.endpoint !== OCPP_ENDPOINT || handshake.identity === '') return reject(404, 'Not Found');
      const station = await findStation(db, handshake.identity);
      if (!station) {
        log.warn(fields, 'OCPP connection from an unknown station refused (404)');
        return reject(404, 'Not Found');
      }
      const profile = await stationSecurityProfile(db, station.stationId);
      const transport = transportOf(handshake.request);
      // Profiles 2 and 3 need TLS: on our own socket (ocpp-tls.ts), or terminated by a trusted proxy
      // in front of us when OCPP_TLS_OFFLOADED is set (profile 2 only: the proxy keeps the certificate).
      if (profile >= 2 && !(transport.tls || (profile === 2 && config.OCPP_TLS_OFFLOADED))) {
        log.warn({ ...fields, securityProfile: profile }, 'OCPP connection without TLS refused for a TLS station (401)');
        return reject(401, 'Unauthorized');
      }
      if (profile === 3) {
        // Security profile 3: the client certificate authenticates the station. It must chain to our CA
        // and its subject CN must be the station identity (OCPP 2.0.1 Part 2 §A00 "TLS with Client Side
        // Certificates"; 1.6 Security Whitepaper §2.5: the serial number / identity is in the CN).
        if (!transport.certAuthorized || transport.certCommonName !== station.stationId) {
          log.warn({ ...fields, certCommonName: transport.certCommonName ?? null, certAuthorized: transport.certAuthorized }, 'OCPP connection with a missing, untrusted or foreign client certificate refused (401)');
          return reject(401, 'Unauthorized');
        }
      } else if (!handshake.password || !(await verifyStationPassword(db, station.stationId, handshake.password))) {
        // Security profiles 1 and 2: ocpp-rpc only hands over a password when the Basic username
        // equals the identity in the URL, so "username = station id" is checked by construction.
        log.warn(fields, 'OCPP connection with missing or wrong credentials refused (401)');
        return reject(401, 'Unauthorized');
      }
      const session: Session = { stationId: station.stationId, gridAreaId: station.gridAreaId };
      accept(session);
    } catch (err) {
      log.error({ ...fields, err }, 'OCPP authentication failed');
      reject(503, 'Service Unavailable');
    }
  });

  server.on('error', (err: unknown) => log.error({ err }, 'OCPP WebSocket server error'));

  server.on('client', (client: RpcServerClient) => {
    const session = client.session as Session;
    const stationId = session.stationId;
    const version = VERSIONS[client.protocol ?? ''];
    if (closing) {
      void client.close({ code: 1001, reason: 'CSMS shutting down' });
      return;
    }
    if (!version) {
      // OCPP-J §3.2: no common subprotocol → complete the handshake without one, then close at once.
      log.warn({ stationId, offered: [...client.handshake.protocols] }, 'OCPP connection without a supported subprotocol closed');
      void client.close({ code: 1002, reason: 'no supported OCPP subprotocol' });
      return;
    }
    const clog = log.child({ stationId, ocppVersion: version });

    // CALLERROR codes as this version spells them (grid-adapters/ocpp/error-codes.ts).
    const rawSend = client.sendRaw.bind(client);
    client.sendRaw = (message: string) => rawSend(normalizeOutboundFrame(version, message));

    const previous = connections.get(stationId);
    const conn: Connection = { client, version, since: Date.now(), gridAreaId: session.gridAreaId };
    connections.set(stationId, conn);
    metrics.ocppConnections.inc({ version });
    if (previous) {
      clog.info('station reconnected: closing its previous connection');
      void previous.client.close({ code: 1000, reason: 'replaced by a new connection' });
    }

    const ctx: HandlerContext = {
      stationId,
      gridAreaId: session.gridAreaId,
      version,
      db,
      log: clog,
      config,
      areaChanged: (reason) => safeEvent('areaChanged', { stationId }, () => events.areaChanged(session.gridAreaId, reason)),
      stationConnected: () => safeEvent('stationConnected', { stationId }, () => events.stationConnected(stationId, session.gridAreaId)),
      meterCheck: {
        stationId,
        gridAreaId: session.gridAreaId,
        toleranceKw: config.OCPP_COMPLIANCE_TOLERANCE_KW,
        intervalMinutes: config.INTERVAL_MINUTES,
        onResult: (ok) => smartMetrics(metrics).complianceChecks.inc({ grid_area: session.gridAreaId, kind: 'meter', result: ok ? 'ok' : 'deviation' }),
      },
      booted: () => {
        // After the BootNotification answer is written (ocpp-rpc sends it in the same tick that its
        // handler promise settles), so the station sees Accepted before our first CALL (B01.FR.04).
        setTimeout(() => track('boot setup', { stationId }, smart.afterBoot(linkOf(stationId, conn)).finally(() => ctx.stationConnected())), 0);
      },
    };
    attachHandlers(client, isV2(version) ? { ...TABLES[version], ...reports.handlers } : TABLES[version], ctx);

    // Metric labels only for actions the version defines: a station must not be able to create
    // unbounded label values by sending made-up action names.
    const known = new Set(knownActions(version));
    const actionLabel = (method: string) => (known.has(method) ? method : 'unknown');
    let lastTouch = Date.now();
    client.on('callResult', (e: { outbound: boolean; method: string }) => {
      if (e.outbound) return;
      metrics.ocppMessages.inc({ direction: 'in', action: actionLabel(e.method), outcome: 'ok' });
      if (Date.now() - lastTouch > TOUCH_EVERY_MS) {
        lastTouch = Date.now();
        track('last-seen update', { stationId }, touchStation(db, stationId));
      }
    });
    client.on('callError', (e: { outbound: boolean; method: string; error: { rpcErrorCode?: string } }) => {
      if (!e.outbound) metrics.ocppMessages.inc({ direction: 'in', action: actionLabel(e.method), outcome: e.error.rpcErrorCode ?? 'error' });
    });
    client.on('strictValidationFailure', (e: { method: string; outbound: boolean; isCall: boolean; error: Error }) => {
      clog.warn({ action: e.method, outbound: e.outbound, isCall: e.isCall, error: e.error.message }, 'OCPP message failed schema validation');
    });
    client.on('badMessage', (e: { error: Error }) => clog.warn({ error: e.error.message }, 'malformed OCPP-J frame'));
    client.once('close', (e: { code?: number; reason?: string }) => {
      metrics.ocppConnections.dec({ version });
      if (connections.get(stationId)?.client !== client) return; // replaced: the new connection owns the state
      connections.delete(stationId);
      clog.info({ code: e.code, reason: e.reason }, 'station disconnected');
      // While closing, close() marks its stations itself (the database may be closed right after).
      if (!closing) track('disconnect bookkeeping', { stationId }, inOrder(stationId, () => disconnected(stationId)));
    });

    clog.info({ remoteAddress: client.handshake.remoteAddress }, 'station connected');
    // OCPP-J §5.3: a reconnecting station does not send BootNotification again, so the connect itself
    // is when the orchestrator learns it can deliver again.
    track(
      'connect bookkeeping',
      { stationId },
      inOrder(stationId, async () => {
        if (connections.get(stationId)?.client !== client) return; // already gone or replaced
        await markConnected(db, stationId, version, instanceId);
        ctx.stationConnected();
        // Outside the bookkeeping chain: waiting for the reports must not hold up a disconnect.
        if (deps.checkProfilesOnConnect && isV2(version)) track('installed-profile check', { stationId }, checkInstalledProfiles(stationId));
      }),
    );
  });

  /** Clears the station's connected state, unless another instance has taken it over meanwhile. */
  async function disconnected(stationId: string): Promise<void> {
    if (!(await markDisconnected(db, stationId, instanceId))) {
      log.info({ stationId, instanceId }, 'station now connected to another instance: its state is left to that one');
    }
  }

  function linkOf(stationId: string, c: Connection): StationLink {
    return {
      stationId,
      gridAreaId: c.gridAreaId,
      version: c.version,
      call: (method, params) => c.client.call(method, params, { callTimeoutMs: config.OCPP_CALL_TIMEOUT_MS }),
    };
  }

  const channel = createOcppChannel({
    onAcked(msg) {
      const c = connections.get(msg.target);
      if (!c || closing) return;
      track('closed-loop check', { stationId: msg.target }, smart.afterAck(linkOf(msg.target, c), msg.action, msg.payload));
    },
    lookup(stationId) {
      const c = connections.get(stationId);
      if (!c || c.client.state !== OPEN) return undefined;
      return { version: c.version, call: (method, params, options) => c.client.call(method, params, options) };
    },
    config,
    metrics,
    log,
  });

  function openLink(stationId: string): StationLink | undefined {
    const c = connections.get(stationId);
    return c && c.client.state === OPEN && !closing ? linkOf(stationId, c) : undefined;
  }

  async function checkInstalledProfiles(stationId: string): Promise<InstalledProfile[] | undefined> {
    const link = openLink(stationId);
    if (!link) return undefined;
    try {
      const found = await reports.getInstalledProfiles(link);
      if (!found.supported || found.status === undefined) return undefined;
      const foreign = foreignProfiles(found.profiles);
      if (foreign.length > 0) {
        const summary = foreign.map((p) => ({ id: p.profile.id, purpose: p.profile.chargingProfilePurpose, stackLevel: p.profile.stackLevel, evseId: p.evseId, source: p.chargingLimitSource }));
        log.warn({ stationId, foreign: summary, complete: found.complete }, 'station has charging profiles gridflex did not install');
        await audit(db, 'gridflex', 'ocpp.ForeignProfiles', stationId, { profiles: summary, complete: found.complete });
      }
      return foreign;
    } catch (err) {
      log.warn({ stationId, err: err instanceof Error ? err.message : String(err) }, 'installed-profile check failed');
      return undefined;
    }
  }

  async function clearGridflexProfiles(stationId: string, ocppEvseIds?: number[]): Promise<ClearResult[] | undefined> {
    const link = openLink(stationId);
    if (!link) return undefined;
    try {
      const ids = gridflexProfileIds(ocppEvseIds ?? (await stationEvseIds(db, stationId)));
      const results = await clearChargingProfiles(link, ids);
      await audit(db, 'gridflex', 'ocpp.ProfilesCleared', stationId, { results });
      return results;
    } catch (err) {
      log.warn({ stationId, err: err instanceof Error ? err.message : String(err) }, 'clearing charging profiles failed');
      return undefined;
    }
  }

  return {
    async getInstalledProfiles(stationId, options) {
      const link = openLink(stationId);
      return link ? reports.getInstalledProfiles(link, options) : undefined;
    },
    checkInstalledProfiles,
    clearGridflexProfiles,
    instanceId,
    handleUpgrade(req, socket, head) {
      const target = parseOcppPath(req.url, OCPP_ENDPOINT);
      if (!target.ok) {
        refuseUpgrade(socket, target.status);
        return;
      }
      server.handleUpgrade(req, socket as Socket, head).catch((err: unknown) => {
        log.warn({ err, stationId: target.stationId }, 'OCPP upgrade failed');
        socket.destroy();
      });
    },
    isConnected: (stationId) => connections.get(stationId)?.client.state === OPEN,
    connectedStations: () =>
      [...connections.entries()].filter(([, c]) => c.client.state === OPEN).map(([stationId, c]) => ({ stationId, version: c.version, since: c.since })),
    channel,
    async close() {
      closing = true;
      const open = [...connections.entries()].map(([stationId, c]) => ({ stationId, client: c.client }));
      const closed = Promise.allSettled(open.map((c) => c.client.close({ code: 1001, reason: 'CSMS shutting down' })));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise((r) => (timer = setTimeout(r, CLOSE_GRACE_MS)));
      await Promise.race([closed, grace]);
      clearTimeout(timer);
      await Promise.allSettled(open.map((c) => c.client.close({ force: true })));
      await server.close({ code: 1001, reason: 'CSMS shutting down', force: true });
      reports.cancelAll();
      await Promise.allSettled([...pending]);
      // Stations whose close event has not run yet are still marked connected: mark them now.
      await Promise.allSettled(open.map((c) => inOrder(c.stationId, () => disconnected(c.stationId))));
    },
  };
}
