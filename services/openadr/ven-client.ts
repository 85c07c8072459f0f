import { createHash } from 'node:crypto';
import express, { type Router } from 'express';
import { ClientCredentialResponse, Event, Program, expandEvent, type EventRequest } from '../../grid-adapters/openadr3/index.ts';
import type { Config } from '../config.ts';
import { tokenMatches } from '../http/admin-auth.ts';
import type { Logger } from '../log.ts';
import type { Db, Queryable } from '../store/db.ts';
import { deleteEventSignals, replaceEventSignals } from './signal-store.ts';
import { buildReport, dueReports, forgetEventsExcept, nextReportAt, recordOutcome, retryDelayMs, saveSchedule, scheduleEventReports, type ReportSpec, type SendOutcome } from './ven-reports.ts';

/**
 * gridflex as an OpenADR 3.1.0 VEN toward an upstream VTN (a utility or DSO): it fetches a token
 * (client credentials), registers itself as a ven with its resources, follows the VTN's programs and
 * events by polling (and, when a callback URL is given, by a webhook subscription that makes it poll
 * at once), turns the events into DR signals for the node it represents, and sends the reports the
 * events' reportDescriptors ask for when they are due (schedule persisted in openadr_ven_report, see
 * ven-reports.ts; a report due while the VTN is down is retried with back-off, also across restarts).
 *
 * Survives the VTN being down: a failed sync keeps the signals last received (they are in the
 * database, so also across restarts) and is retried on the next poll; a token is fetched again when
 * the VTN refuses it (401).
 */
export interface VenClientOptions {
  /** Base URL of the upstream VTN, e.g. https://vtn.example.net/openadr3/3.1.0 */
  vtnUrl: string;
  clientId: string;
  clientSecret: string;
  venName: string;
  /** The gridflex topology node the upstream programs apply to (usually a grid area or connection point). */
  nodeId: string;
  /** Resource names to register (e.g. connection point or site ids). */
  resources?: string[];
  /** Targets to ask for when reading programs and events (those the VTN granted to us). */
  targets?: string[];
  /** Where the VTN should POST notifications (our public URL + the mount path of webhookRouter). */
  callbackUrl?: string;
  /** Bearer token the VTN must present on callbacks (required with callbackUrl). */
  callbackToken?: string;
  pollIntervalMs?: number;
}

export interface VenClientDeps {
  db: Db;
  log: Logger;
  options: VenClientOptions;
  onSignalsChanged(gridAreaId: string): void;
  fetchImpl?: typeof fetch;
  now?: () => number;
  /** How far ahead looping events are expanded (ms), default 14 days. */
  signalHorizonMs?: number;
  /** How far ahead reports are scheduled (ms), default 2 days (later ones are scheduled by later polls). */
  reportHorizonMs?: number;
  /** Reports that fell due more than this before the VEN first saw their event are not sent (ms), default a day. */
  reportBackfillMs?: number;
}

export interface SyncResult {
  ok: boolean;
  error?: string;
  events: number;
  changed: boolean;
}

export interface VenClient {
  syncOnce(): Promise<SyncResult>;
  /** Sends an ad hoc USAGE (kWh, and optionally BASELINE kW) report per event interval so far, from the measurement table. */
  reportUsage(eventId: string, opts?: { baseline?: boolean }): Promise<{ status: number; id?: string }>;
  /** Sends the reports that are due per the events' reportDescriptors (persisted schedule); returns their event ids. */
  reportDue(): Promise<string[]>;
  /** Receives the VTN's webhook notifications (mount it where callbackUrl points). */
  webhookRouter: Router;
  start(): void;
  stop(): void;
  venId(): string | undefined;
}

class HttpError extends Error {
  constructor(readonly status: number, text: string) {
    super(`HTTP ${status}: ${text.slice(0, 300)}`);
  }
}

const PAGE = 50;

export function createOpenadrVenClient(deps: VenClientDeps): VenClient {
  const o = deps.options;
  const fetchImpl = deps.fetchImpl ?? fetch;
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ component: 'openadr-ven', vtn: o.vtnUrl, venName: o.venName });
  const source = `openadr-ven:${o.venName}`;
  const base = o.vtnUrl.replace(/\/+$/, '');
  let token: { value: string; expiresAt: number } | undefined;
  let venId: string | undefined;
  let subscribed = false;
  let lastDigest = '';
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<SyncResult> | undefined;

  async function fetchToken(): Promise<string> {
    let tokenUrl = `${base}/auth/token`;
    try {
      const info = await fetchImpl(`${base}/auth/server`, { signal: AbortSignal.timeout(10_000) });
      if (info.ok) tokenUrl = ((await info.json()) as { tokenURL?: string }).tokenURL ?? tokenUrl;
    } catch {
      // Token endpoint discovery is optional (Definitions, Security, Token endpoint discovery).
    }
    const res = await fetchImpl(tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: o.clientId, client_secret: o.clientSecret }).toString(),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new HttpError(res.status, text);
    const t = ClientCredentialResponse.parse(JSON.parse(text));
    token = { value: t.access_token, expiresAt: now() + ((t.expires_in ?? 300) - 30) * 1000 };
    return t.access_token;
  }

  async function api<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
    const tok = token && token.expiresAt > now() ? token.value : await fetchToken();
    const res = await fetchImpl(`${base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${tok}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    if (res.status === 401 && !retried) {
      token = undefined;
      return api(method, path, body, true);
    }
    if (!res.ok) throw new HttpError(res.status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Every page of a search (skip/limit ≤ 50). */
  async function all<T>(path: string, params: URLSearchParams): Promise<T[]> {
    const out: T[] = [];
    for (let skip = 0; ; skip += PAGE) {
      const p = new URLSearchParams(params);
      p.set('skip', String(skip));
      p.set('limit', String(PAGE));
      const page = await api<T[]>('GET', `${path}?${p.toString()}`);
      out.push(...page);
      if (page.length < PAGE) return out;
    }
  }

  async function register(): Promise<void> {
    if (venId) return;
    const found = await api<{ id: string }[]>('GET', `/vens?${new URLSearchParams({ venName: o.venName }).toString()}`);
    venId = found[0]?.id ?? (await api<{ id: string }>('POST', '/vens', { objectType: 'VEN_VEN_REQUEST', venName: o.venName })).id;
    for (const name of o.resources ?? []) {
      const have = await api<unknown[]>('GET', `/resources?${new URLSearchParams({ venID: venId, resourceName: name }).toString()}`);
      if (have.length === 0) await api('POST', '/resources', { objectType: 'VEN_RESOURCE_REQUEST', venID: venId, resourceName: name });
    }
    log.info({ venId }, 'registered with the upstream VTN');
  }

  async function subscribe(): Promise<void> {
    if (subscribed || !o.callbackUrl) return;
    const mine = await api<{ id: string; objectOperations: { callbackUrl: string }[] }[]>('GET', `/subscriptions?${new URLSearchParams({ clientName: o.venName }).toString()}`);
    if (!mine.some((s) => s.objectOperations.some((op) => op.callbackUrl === o.callbackUrl))) {
      await api('POST', '/subscriptions', {
        clientName: o.venName,
        objectOperations: [{ objects: ['PROGRAM', 'EVENT'], operations: ['CREATE', 'UPDATE', 'DELETE'], callbackUrl: o.callbackUrl, bearerToken: o.callbackToken ?? null }],
        ...(o.targets?.length ? { targets: o.targets } : {}),
      });
    }
    subscribed = true;
  }

  async function gridArea(q: Queryable): Promise<string | undefined> {
    const [n] = await q.query<{ grid_area_id: string }>('SELECT grid_area_id FROM topology_node WHERE id = $1', [o.nodeId]);
    return n?.grid_area_id;
  }

  async function sync(): Promise<SyncResult> {
    try {
      await register();
      await subscribe();
      const params = new URLSearchParams();
      for (const t of o.targets ?? []) params.append('targets', t);
      const programs = (await all<unknown>('/programs', params)).map((p) => Program.parse(p));
      const withActive = new URLSearchParams(params);
      withActive.set('active', 'true');
      const events = (await all<unknown>('/events', withActive)).map((e) => Event.parse(e)).filter((e) => programs.some((p) => p.id === e.programID));
      const digest = createHash('sha256').update(JSON.stringify(events)).digest('hex');
      if (digest === lastDigest) return { ok: true, events: events.length, changed: false };
      const area = await deps.db.tx(async (q) => {
        const a = await gridArea(q);
        if (!a) throw new Error(`node ${o.nodeId} is not in the topology`);
        const seen = new Set(events.map((e) => e.id));
        const stored = await q.query<{ event_id: string }>('SELECT DISTINCT event_id FROM dr_signal WHERE source = $1', [source]);
        for (const s of stored) if (!seen.has(s.event_id)) await deleteEventSignals(q, source, s.event_id);
        for (const e of events) {
          await replaceEventSignals(q, {
            source, eventId: e.id, nodeId: o.nodeId, gridAreaId: a, event: e as EventRequest,
            nowMs: Date.parse(e.modificationDateTime), untilMs: now() + (deps.signalHorizonMs ?? 14 * 86_400_000),
          });
        }
        return a;
      });
      lastDigest = digest;
      deps.onSignalsChanged(area);
      return { ok: true, events: events.length, changed: true };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      log.warn({ error }, 'sync with the upstream VTN failed; keeping the last signals');
      return { ok: false, error, events: 0, changed: false };
    }
  }

  function syncOnce(): Promise<SyncResult> {
    running ??= sync().finally(() => {
      running = undefined;
    });
    return running;
  }

  const scope = { vtnUrl: base, venName: o.venName };
  const resources = o.resources?.length ? o.resources : [o.nodeId];
  const buildCtx = () => ({ db: deps.db, venName: o.venName, resources, grantedTargets: o.targets ?? [], nowMs: now() });

  /** An ad hoc report (frequency 0, User Guide 7.5): USAGE (and BASELINE) on the event's intervals so far. */
  async function reportUsage(eventId: string, opts: { baseline?: boolean } = {}): Promise<{ status: number; id?: string }> {
    const tq = new URLSearchParams();
    for (const t of o.targets ?? []) tq.append('targets', t);
    const e = Event.parse(await api('GET', `/events/${encodeURIComponent(eventId)}${tq.size ? '?' + tq.toString() : ''}`));
    const t = expandEvent(e, { nowMs: Date.parse(e.modificationDateTime), maxIntervals: 500 });
    const spec: ReportSpec = {
      eventId: e.id, historical: true, aggregate: false, targets: null,
      intervals: t.intervals.filter((iv) => iv.startMs <= now()).map((iv) => ({ id: iv.id, startMs: iv.startMs, endMs: iv.endMs })),
      payloads: [{ payloadType: 'USAGE', readingType: null, units: null }, ...(opts.baseline ? [{ payloadType: 'BASELINE', readingType: null, units: null }] : [])],
    };
    const created = await api<{ id: string }>('POST', '/reports', await buildReport(buildCtx(), spec, `gridflex ${o.nodeId} ad hoc`));
    return { status: 201, id: created.id };
  }

  /**
   * Brings the persisted report schedule up to date with the VTN's events (all pages, ended ones
   * included). Rows are only added or replaced here, so a VTN that cannot be read leaves the
   * schedule as it was.
   */
  async function refreshSchedule(): Promise<void> {
    const params = new URLSearchParams();
    for (const t of o.targets ?? []) params.append('targets', t);
    const events = (await all<unknown>('/events', params)).map((e) => Event.parse(e));
    const nowMs = now();
    await deps.db.tx(async (q) => {
      for (const e of events) {
        const rows = scheduleEventReports(e, nowMs + (deps.reportHorizonMs ?? 2 * 86_400_000));
        await saveSchedule(q, scope, e.id, e.modificationDateTime, rows, nowMs - (deps.reportBackfillMs ?? 86_400_000));
      }
      await forgetEventsExcept(q, scope, events.map((e) => e.id));
    });
  }

  /** Whether the VTN already holds this report (a crash between its 201 and our bookkeeping). */
  async function alreadySent(eventId: string, reportName: string): Promise<string | undefined> {
    const mine = await all<{ id: string; reportName?: string | null }>('/reports', new URLSearchParams({ eventID: eventId, clientName: o.venName }));
    return mine.find((r) => r.reportName === reportName)?.id;
  }

  /**
   * Refreshes the schedule (when the VTN answers) and sends every report that is due, oldest first.
   * A report the VTN does not take is retried with back-off (network errors, 5xx, 408, 429) or, on
   * another 4xx, marked failed with the VTN's answer (logged); it is never dropped silently. Returns
   * the event id of each report sent.
   */
  async function reportDue(): Promise<string[]> {
    try {
      await refreshSchedule();
    } catch (err) {
      log.warn({ error: err instanceof Error ? err.message : String(err) }, 'could not read events for the report schedule; sending what is already due');
    }
    const sent: string[] = [];
    for (const r of await dueReports(deps.db, scope, now())) {
      const reportName = `gridflex ${r.key}`;
      let outcome: SendOutcome;
      try {
        const existing = await alreadySent(r.eventId, reportName);
        const id = existing ?? (await api<{ id: string }>('POST', '/reports', await buildReport(buildCtx(), r.spec, reportName))).id;
        outcome = { state: 'sent', reportId: id };
        sent.push(r.eventId);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        const permanent = err instanceof HttpError && err.status >= 400 && err.status < 500 && ![401, 408, 429].includes(err.status);
        outcome = permanent ? { state: 'failed', error } : { state: 'retry', error, nextTryMs: now() + retryDelayMs(r.attempts) };
        log.warn({ eventId: r.eventId, report: r.key, error, permanent }, permanent ? 'the VTN refused a report; not retried' : 'report not sent; will retry');
      }
      await recordOutcome(deps.db, scope, r.eventId, r.key, outcome, now());
    }
    return sent;
  }

  let reporting: Promise<string[]> | undefined;
  let dueTimer: NodeJS.Timeout | undefined;
  /**
   * One report run at a time (two would both see a row as due), then a timer for the next due
   * report when it comes before the next poll, so reports go out when due, not a poll later.
   */
  function runReports(): Promise<string[]> {
    reporting ??= reportDue()
      .catch((err: unknown) => {
        log.warn({ error: err instanceof Error ? err.message : String(err) }, 'OpenADR reports not sent; will retry');
        return [];
      })
      .finally(() => {
        reporting = undefined;
        if (!timer) return;
        void nextReportAt(deps.db, scope).then((at) => {
          if (dueTimer) clearTimeout(dueTimer);
          dueTimer = undefined;
          if (at === null || !timer) return;
          const wait = Math.max(0, at - now());
          if (wait >= (o.pollIntervalMs ?? 60_000)) return;
          dueTimer = setTimeout(() => void runReports(), wait + 50);
          dueTimer.unref();
        });
      });
    return reporting;
  }

  const webhookRouter = express.Router();
  webhookRouter.post('/', express.json({ limit: '1mb' }), (req, res) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (o.callbackToken && (!m || !tokenMatches(o.callbackToken, m[1]!))) {
      res.status(401).json({ title: 'Unauthorized', status: 401, detail: 'bad callback token' });
      return;
    }
    res.status(200).json({});
    // The notification says something changed; the sync reads the VTN's own view (targets, paging).
    void syncOnce();
  });

  return {
    syncOnce,
    reportUsage,
    reportDue: runReports,
    webhookRouter,
    venId: () => venId,
    start() {
      if (timer) return;
      const tick = () => void syncOnce().then(() => runReports());
      tick();
      timer = setInterval(tick, o.pollIntervalMs ?? 60_000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      if (dueTimer) clearTimeout(dueTimer);
      timer = undefined;
      dueTimer = undefined;
    },
  };
}

/** Where the VEN client's webhook router is mounted (relative to PUBLIC_URL). */
export const OPENADR_VEN_CALLBACK_PATH = '/openadr/ven/callback';

const list = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

/**
 * The VEN client configured by OPENADR_VEN_* (undefined when OPENADR_VEN_VTN_URL is unset). Throws
 * when the URL is set but the client id, secret or node is missing. The webhook subscription is made
 * only with both PUBLIC_URL and OPENADR_VEN_CALLBACK_TOKEN.
 */
export function openadrVenFromConfig(
  config: Pick<Config, 'PUBLIC_URL' | 'OPENADR_VEN_VTN_URL' | 'OPENADR_VEN_CLIENT_ID' | 'OPENADR_VEN_CLIENT_SECRET' | 'OPENADR_VEN_NAME' | 'OPENADR_VEN_NODE_ID' | 'OPENADR_VEN_TARGETS' | 'OPENADR_VEN_RESOURCES' | 'OPENADR_VEN_CALLBACK_TOKEN' | 'OPENADR_VEN_POLL_S'>,
  deps: Omit<VenClientDeps, 'options'>,
): VenClient | undefined {
  if (!config.OPENADR_VEN_VTN_URL) return undefined;
  const missing = (['OPENADR_VEN_CLIENT_ID', 'OPENADR_VEN_CLIENT_SECRET', 'OPENADR_VEN_NODE_ID'] as const).filter((k) => !config[k]);
  if (missing.length > 0) throw new Error(`OPENADR_VEN_VTN_URL is set but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing`);
  const callback = config.PUBLIC_URL && config.OPENADR_VEN_CALLBACK_TOKEN ? config.PUBLIC_URL.replace(/\/+$/, '') + OPENADR_VEN_CALLBACK_PATH : undefined;
  const resources = list(config.OPENADR_VEN_RESOURCES);
  return createOpenadrVenClient({
    ...deps,
    options: {
      vtnUrl: config.OPENADR_VEN_VTN_URL,
      clientId: config.OPENADR_VEN_CLIENT_ID!,
      clientSecret: config.OPENADR_VEN_CLIENT_SECRET!,
      venName: config.OPENADR_VEN_NAME,
      nodeId: config.OPENADR_VEN_NODE_ID!,
      resources: resources.length ? resources : [config.OPENADR_VEN_NODE_ID!],
      targets: list(config.OPENADR_VEN_TARGETS),
      ...(callback ? { callbackUrl: callback, callbackToken: config.OPENADR_VEN_CALLBACK_TOKEN } : {}),
      pollIntervalMs: config.OPENADR_VEN_POLL_S * 1000,
    },
  });
}
