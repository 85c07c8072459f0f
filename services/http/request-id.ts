import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

declare module 'express-serve-static-core' {
  interface Request {
    /** Our id for this request: logged, and returned in problem `instance`. */
    id: string;
  }
}

export function requestId(): RequestHandler {
  return (req, res, next) => {
    req.id = randomUUID();
    res.setHeader('X-Gridflex-Request-Id', req.id);
    next();
  };
}
