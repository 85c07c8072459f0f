import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { toAppError, type AppError } from './errors.ts';

/** RFC 9457 problem+json for our own REST API. `instance` is the request id that was logged. */
export function problemHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = toAppError(err);
    logError(log, e, err, req.id);
    sendProblem(res, e, req.id);
  };
}

export function sendProblem(res: Response, e: AppError, requestId: string): void {
  if (res.headersSent) return;
  res
    .status(e.status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: 'about:blank',
        title: e.title,
        status: e.status,
        detail: e.message,
        instance: `urn:gridflex:request:${requestId}`,
        ...(e.details !== undefined ? { errors: e.details } : {}),
      }),
    );
}

export function logError(log: Logger, e: AppError, raw: unknown, requestId: string): void {
  if (e.status >= 500) log.error({ err: raw, reqId: requestId }, 'request failed');
  else log.info({ reqId: requestId, status: e.status, detail: e.message }, 'request rejected');
}
