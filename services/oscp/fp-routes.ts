import express, { type Router } from 'express';
import type { ApiRouter } from '../http/route.ts';
import { FP_BASE_PATH, type OscpDeps } from './oscp-deps.ts';
import { FP_ENDPOINTS, correlation, knownEndpoint, oscpErrorHandler, oscpJson, requireRequestId } from './oscp-http.ts';
import { forecastRoutes } from './forecast-routes.ts';
import { sessionRoutes } from './session-routes.ts';

export type { OscpDeps } from './oscp-deps.ts';

/**
 * The OSCP 2.0 Flexibility Provider endpoints (gridflex is the FP; a DSO is the Capacity Provider),
 * to be mounted at FP_BASE_PATH (`/oscp/fp/2.0`). Self-contained: parses its own JSON bodies (limit
 * config.MAX_BODY_BYTES) so that every failure, including a malformed or oversized body, comes back
 * as an OSCP Error `{"message": ...}` and not as the admin API's problem+json.
 *
 * Order per request: X-Correlation-ID echo and metrics → known endpoint and method → JSON body → X-Request-ID → route
 * (Authorization → schema → handler, which checks the request id for replay inside its transaction).
 */
export function createOscpFpRouter(deps: OscpDeps): Router {
  const router = express.Router();
  router.use(correlation(deps.metrics));
  router.use(knownEndpoint(FP_ENDPOINTS));
  router.use(oscpJson(deps.config.MAX_BODY_BYTES));
  router.use(requireRequestId());
  const api: ApiRouter = { router, basePath: FP_BASE_PATH };
  sessionRoutes(api, deps, { peerRole: 'capacity_provider', onAreaChanged: (a) => deps.onForecast(a) });
  forecastRoutes(api, deps);
  router.use(oscpErrorHandler(deps.log));
  return router;
}
