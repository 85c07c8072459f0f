import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { OscpMappingError } from '../../grid-adapters/oscp/index.ts';
import { AppError, BadRequest, NotFound, toAppError } from '../http/errors.ts';
import type { Metrics } from '../metrics.ts';

/**
 * The HTTP conventions of OSCP 2.0, shared by every OSCP endpoint we serve:
 * - every request carries X-Request-ID; the answer carries it back as X-Correlation-ID;
 * - success is 204 No Content; a failure is a 4xx/5xx with an OSCP Error body `{"message": ...}`;
 * - bodies are JSON (application/json).
 */

const MAX_REQUEST_ID_LENGTH = 200;

/** The endpoints we know, as metric labels (an unknown path must not create new series). */
const MESSAGES = new Set([
  'register',
  'handshake',
  'handshake_acknowledge',
  'heartbeat',
  'update_group_capacity_forecast',
  'adjust_group_capacity_forecast',
  'group_capacity_compliance_error',
  'update_group_measurements',
  'update_asset_measurements',
]);

/** The endpoints the Flexibility Provider side serves (a Capacity Provider calls them). */
export const FP_ENDPOINTS: ReadonlySet<string> = new Set(['register', 'handshake', 'handshake_acknowledge', 'heartbeat', 'update_group_capacity_forecast']);

/** The endpoints the Capacity Provider side serves (a Flexibility Provider, e.g. a CPO, calls them). */
export const CP_ENDPOINTS: ReadonlySet<string> = new Set([
  'register',
  'handshake',
  'handshake_acknowledge',
  'heartbeat',
  'adjust_group_capacity_forecast',
  'group_capacity_compliance_error',
  'update_group_measurements',
  'update_asset_measurements',
]);

function messageOf(req: Request): string {
  const name = req.path.replace(/^\/+|\/+$/g, '');
  return MESSAGES.has(name) ? name : 'unknown';
}

/** The X-Request-ID of the request (validated by requireRequestId before any handler runs). */
export function requestIdOf(req: Request): string {
  return req.get('x-request-id') ?? '';
}

/** Echoes X-Request-ID as X-Correlation-ID on every answer, errors included, and counts the answer. */
export function correlation(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const id = req.get('x-request-id');
    // OSCP 2.0 HTTP headers: the response's X-Correlation-ID is the X-Request-ID of the request.
    if (id) res.setHeader('X-Correlation-ID', id);
    res.on('finish', () => metrics.oscpMessages.inc({ direction: 'in', message: messageOf(req), status: String(res.statusCode) }));
    next();
  };
}

/** OSCP 2.0 HTTP headers: X-Request-ID is mandatory on every request. */
export function requireRequestId(): RequestHandler {
  return (req, _res, next) => {
    const id = req.get('x-request-id');
    if (!id || id.trim() === '') return next(new BadRequest('missing X-Request-ID header'));
    if (id.length > MAX_REQUEST_ID_LENGTH) return next(new BadRequest(`X-Request-ID longer than ${MAX_REQUEST_ID_LENGTH} characters`));
    // Segmented messages (X-Segment-Index/-Count) are not reassembled: a segment handled as a whole
    // message would store a partial forecast, so it is refused with a clear reason instead.
    const count = req.get('x-segment-count');
    if (count !== undefined && count.trim() !== '1') return next(new BadRequest('segmented messages are not supported: send the message in one request'));
    next();
  };
}

/**
 * JSON bodies up to `limitBytes` (larger → 413). A body that is not application/json is left unparsed
 * and refused here, so a handler never sees a half-understood body.
 */
export function oscpJson(limitBytes: number): RequestHandler[] {
  return [
    express.json({ limit: limitBytes, strict: true, type: ['application/json', 'application/*+json'] }),
    (req, _res, next) => {
      // DELETE /register (unregister) carries no body.
      if (req.method === 'DELETE') return next();
      if (req.body === undefined) return next(new BadRequest('expected a JSON body with Content-Type: application/json'));
      next();
    },
  ];
}

/**
 * Unknown endpoint (404) or method (405) under the OSCP base path, answered before any body is read
 * and as an OSCP Error, not the admin API's problem+json. Every OSCP 2.0 message is a POST; Register
 * also takes PUT (update the registration) and DELETE (unregister), as OCPI-style peers expect.
 */
export function knownEndpoint(endpoints: ReadonlySet<string> = FP_ENDPOINTS): RequestHandler {
  return (req, res, next) => {
    const message = messageOf(req);
    if (message === 'unknown' || !endpoints.has(message)) return next(new NotFound(`no OSCP endpoint ${req.path}`));
    const allowed = message === 'register' ? ['POST', 'PUT', 'DELETE'] : ['POST'];
    if (!allowed.includes(req.method)) {
      res.setHeader('Allow', allowed.join(', '));
      return next(new AppError(405, 'Method Not Allowed', `${req.method} not allowed; OSCP messages are POSTed`));
    }
    next();
  };
}

export function sendOscpError(res: Response, e: AppError): void {
  if (res.headersSent) return;
  // OSCP 2.0 Error: { "message": string }.
  res.status(e.status).type('application/json').send(JSON.stringify({ message: e.message }));
}

/** Maps anything thrown (AppError, body-parser errors, database errors) to an OSCP Error answer. */
export function oscpErrorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    // A schema-valid message that cannot be used is the peer's error: 400 with the reason.
    const e = err instanceof OscpMappingError ? new BadRequest(err.message) : toAppError(err);
    const fields = { reqId: requestIdOf(req) || undefined, peerId: res.locals.peerId as string | undefined, oscpMessage: messageOf(req), status: e.status };
    if (e.status >= 500) log.error({ ...fields, err }, 'OSCP request failed');
    else log.info({ ...fields, detail: e.message }, 'OSCP request rejected');
    sendOscpError(res, e);
  };
}
