import { randomUUID } from 'node:crypto';
import express, { type Router } from 'express';
import { Counter } from 'prom-client';
import type { Config } from '../config.ts';
import type { ChannelHandler } from '../core/delivery.ts';
import { NotFound, Unauthorized } from '../http/errors.ts';
import { problemHandler } from '../http/problem.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Db } from '../store/db.ts';
import { registerAuthRoutes } from './auth-routes.ts';
import { createAuthRateLimiter, setRetryAfter } from './auth-rate-limit.ts';
import { createTokenIssuer, tokenSecret, type TokenIssuer } from './auth.ts';
import { registerProgramRoutes } from './program-routes.ts';
import { registerReportRoutes } from './report-routes.ts';
import { registerVenRoutes } from './ven-routes.ts';
import type { VtnContext } from './vtn-context.ts';
import { createOpenadr301Router } from './vtn-301.ts';
import { createOpenadrChannel } from './webhook-channel.ts';

export interface OpenadrVtnDeps {
  db: Db;
  log: Logger;
  metrics: Metrics;
  config: Config;
  /** Called after a committed change of the DR signals of a grid area (re-optimize it). */
  onSignalsChanged(gridAreaId: string): void;
  now?: () => number;
  fetchImpl?: typeof fetch;
}

export interface OpenadrVtn {
  /** The OpenADR 3.1.0 VTN; mount at OPENADR_VTN_BASE_PATH (/openadr/3.1.0). */
  router: Router;
  /** OpenADR 3.0.1 on the same store (a translating router); mount at OPENADR_301_BASE_PATH (/openadr/3.0.1). */
  router301: Router;
  /** Outbox channel 'openadr': webhook notifications to subscribers. */
  channel: ChannelHandler;
  issuer: TokenIssuer;
  /** True when no OPENADR_TOKEN_SECRET was configured and a key was generated for this run. */
  tokenSecretGenerated: boolean;
}

export const OPENADR_VTN_BASE_PATH = '/openadr/3.1.0';

/**
 * The OpenADR 3.1.0 VTN: every path of the 3.1.0 OpenAPI document, with bearer-token auth and
 * scopes, per-client visibility, notifications through the outbox, and DR signals for the optimizer.
 * Errors are problem objects (Definitions, Response Codes and Errors, Problem).
 */
export function createOpenadrVtn(deps: OpenadrVtnDeps): OpenadrVtn {
  const { key, generated } = tokenSecret(deps.config);
  if (generated) deps.log.warn('OPENADR_TOKEN_SECRET not set: generated a token key for this run (tokens do not survive a restart)');
  const now = deps.now ?? Date.now;
  const issuer = createTokenIssuer({ secret: key, ttlS: deps.config.OPENADR_TOKEN_TTL_S, now });
  const router = express.Router();
  // Problem `instance` carries the request id; the main app sets it, a bare mount gets one here.
  const requests = requestCounter(deps.metrics);
  router.use((req, res, next) => {
    req.id ??= randomUUID();
    // Label by route template (bounded), not by the concrete path.
    res.on('finish', () => requests.inc({ operation: `${req.method} ${(req.route as { path?: string } | undefined)?.path ?? 'unmatched'}`, status: String(res.statusCode) }));
    next();
  });
  router.use(express.json({ limit: deps.config.MAX_BODY_BYTES }));
  const c = deps.config;
  const authLimiter = createAuthRateLimiter(
    { client: { burst: c.OPENADR_AUTH_FAIL_CLIENT_BURST, perMinute: c.OPENADR_AUTH_FAIL_CLIENT_PER_MIN }, ip: { burst: c.OPENADR_AUTH_FAIL_IP_BURST, perMinute: c.OPENADR_AUTH_FAIL_IP_PER_MIN } },
    now,
  );
  const ctx: VtnContext = {
    db: deps.db,
    log: deps.log.child({ component: 'openadr-vtn' }),
    metrics: deps.metrics,
    config: deps.config,
    issuer,
    now,
    onSignalsChanged: deps.onSignalsChanged,
    api: { router, basePath: OPENADR_VTN_BASE_PATH },
    authLimiter,
    auth: async (req) => {
      authLimiter.check(req);
      try {
        return await issuer.authenticate(deps.db, req);
      } catch (err) {
        // A presented but bad token is a guess; a missing one is a misconfigured client and costs nothing.
        if (err instanceof Unauthorized && req.headers.authorization) authLimiter.failed(req);
        throw err;
      }
    },
  };
  registerAuthRoutes(ctx);
  registerProgramRoutes(ctx);
  registerVenRoutes(ctx);
  registerReportRoutes(ctx);
  router.use((req, _res, next) => next(new NotFound(`no route ${req.method} ${req.baseUrl}${req.path}`)));
  router.use((err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    setRetryAfter(res, err);
    next(err);
  });
  router.use(problemHandler(ctx.log));
  const router301 = createOpenadr301Router({ db: deps.db, log: ctx.log, issuer, vtn: router, maxBodyBytes: deps.config.MAX_BODY_BYTES });
  return { router, router301, channel: createOpenadrChannel({ log: ctx.log, fetchImpl: deps.fetchImpl }), issuer, tokenSecretGenerated: generated };
}

/** gridflex_openadr_requests_total{operation, status}; one per registry (tests build several VTNs on one). */
function requestCounter(metrics: Metrics): Counter<'operation' | 'status'> {
  const name = 'gridflex_openadr_requests_total';
  const have = metrics.registry.getSingleMetric(name) as Counter<'operation' | 'status'> | undefined;
  return have ?? new Counter({ name, help: 'OpenADR 3 VTN requests by operation (method and route) and status', labelNames: ['operation', 'status'] as const, registers: [metrics.registry] });
}
