import type { Request, Response, Router } from 'express';
import type { z } from 'zod';
import { BadRequest } from './errors.ts';
import type { OpenApiRegistry } from './openapi.ts';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Authenticates a request; throws Unauthorized/Forbidden. Returns who is calling. */
export type Authenticator<P> = (req: Request) => Promise<P> | P;

export interface RouteContext<B, Q, P> {
  body: B;
  query: Q;
  params: Record<string, string>;
  principal: P;
  req: Request;
  res: Response;
}

export interface RouteDef<B, Q, P> {
  method: Method;
  /** Express path relative to the router, e.g. '/grid-areas/:id'. */
  path: string;
  summary: string;
  auth: Authenticator<P>;
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  response?: z.ZodType;
  /** Success status; 204 sends no body. */
  status?: number;
  handler: (ctx: RouteContext<B, Q, P>) => Promise<unknown>;
}

export interface ApiRouter {
  router: Router;
  basePath: string;
  openapi?: OpenApiRegistry;
}

/**
 * Declares one route: it validates body and query with zod, authenticates before reading the body's
 * meaning, and registers itself in the OpenAPI document. Errors go to the router's error middleware,
 * which renders them in the protocol's format.
 */
export function route<B = undefined, Q = Record<string, never>, P = unknown>(api: ApiRouter, def: RouteDef<B, Q, P>): void {
  api.openapi?.add(api.basePath, def);
  api.router[def.method](def.path, async (req: Request, res: Response) => {
    const principal = await def.auth(req);
    const body = def.body ? parseOrThrow(def.body, req.body, 'body') : (undefined as B);
    const query = def.query ? parseOrThrow(def.query, req.query, 'query') : ({} as Q);
    const out = await def.handler({ body, query, params: req.params as Record<string, string>, principal, req, res });
    if (res.headersSent) return;
    const status = def.status ?? (out === undefined ? 204 : 200);
    if (status === 204 || out === undefined) res.status(status).end();
    else res.status(status).json(out);
  });
}

export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
    throw new BadRequest(`invalid ${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  return r.data;
}
