import express, { type Express, type Router } from 'express';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import type { Db } from '../store/db.ts';
import { NotFound } from './errors.ts';
import { OpenApiRegistry } from './openapi.ts';
import { problemHandler, sendProblem } from './problem.ts';
import { requestId } from './request-id.ts';
import type { ApiRouter } from './route.ts';

export interface AppParts {
  log: Logger;
  metrics: Metrics;
  db: Db;
  maxBodyBytes: number;
  /** Mounted before the admin API with their own body parsing and error format. */
  protocolRouters: { path: string; router: Router }[];
  /** Registers admin API routes on the given router. */
  adminApi: (api: ApiRouter) => void;
  /** Pages outside /api (status page). */
  pages?: (app: Express) => void;
  ready?: () => boolean;
}

function family(path: string): string {
  if (path.startsWith('/api/')) return 'api';
  if (path.startsWith('/oscp/')) return 'oscp';
  if (path.startsWith('/openadr/')) return 'openadr';
  if (path === '/metrics' || path.startsWith('/healthz') || path.startsWith('/readyz')) return 'system';
  return 'web';
}

export function createHttpApp(p: AppParts): { app: Express; openapi: OpenApiRegistry } {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestId());
  app.use((req, res, next) => {
    res.on('finish', () => p.metrics.httpRequests.inc({ family: family(req.path), method: req.method, status: String(res.statusCode) }));
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await p.db.query('SELECT 1');
      if (p.ready && !p.ready()) throw new Error('starting');
      res.json({ status: 'ready', database: p.db.kind });
    } catch (err) {
      res.status(503).json({ status: 'unavailable', reason: err instanceof Error ? err.message : String(err) });
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.type(p.metrics.registry.contentType).send(await p.metrics.registry.metrics());
  });

  for (const r of p.protocolRouters) app.use(r.path, r.router);

  const openapi = new OpenApiRegistry({ title: 'gridflex admin API', version: '1' });
  const apiRouter = express.Router();
  apiRouter.use(express.json({ limit: p.maxBodyBytes, type: ['application/json', 'application/*+json'] }));
  p.adminApi({ router: apiRouter, basePath: '/api/v1', openapi });
  apiRouter.get('/openapi.json', (_req, res) => {
    res.json(openapi.document());
  });
  apiRouter.use((req, _res, next) => next(new NotFound(`no route ${req.method} ${req.baseUrl}${req.path}`)));
  apiRouter.use(problemHandler(p.log));
  app.use('/api/v1', apiRouter);

  p.pages?.(app);
  app.use((req, res) => sendProblem(res, new NotFound(`no route ${req.method} ${req.path}`), req.id));
  app.use(problemHandler(p.log));
  return { app, openapi };
}
