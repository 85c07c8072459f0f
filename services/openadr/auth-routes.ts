import express, { type Request, type Response } from 'express';
import { ClientCredentialRequest, ObjectId } from '../../grid-adapters/openadr3/index.ts';
import { NotFound } from '../http/errors.ts';
import { parseOrThrow, route } from '../http/route.ts';
import { TooManyRequests } from './auth-rate-limit.ts';
import { isBl, requireScope, TokenError, type OpenadrPrincipal } from './auth.ts';
import { operationTopics } from './notify.ts';
import type { VtnContext } from './vtn-context.ts';
import { grantedTargets, search, targetView } from './vtn-store.ts';

/**
 * /auth/server, /auth/token (Definitions, Security: OAuth 2.0 client credential flow, Token endpoint
 * discovery) and /notifiers (Definitions, Notifications via Additional Protocols).
 *
 * Token errors follow RFC 6749 5.2 (`error`, `error_description`; 400, or 401 for invalid_client) and
 * are also problem objects (title/status/detail), so they satisfy both authError and problem.
 */
function tokenError(res: Response, status: number, error: string, description: string): void {
  const title = status === 401 ? 'Unauthorized' : status === 429 ? 'Too Many Requests' : 'Bad Request';
  res.status(status).json({ error, error_description: description, title, status, detail: description });
}

export function registerAuthRoutes(ctx: VtnContext): void {
  const { api, auth } = ctx;
  const tokenUrl = (req: Request) => {
    const base = ctx.config.PUBLIC_URL ? ctx.config.PUBLIC_URL.replace(/\/+$/, '') : `${req.protocol}://${req.get('host')}`;
    return `${base}${req.baseUrl}/auth/token`;
  };

  route(api, {
    method: 'get', path: '/auth/server', summary: 'getAuthServerInfo', auth: () => null,
    handler: async ({ req }) => ({ tokenURL: tokenUrl(req) }),
  });

  api.router.post('/auth/token', express.urlencoded({ extended: false, limit: '16kb' }), async (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    const body: Record<string, unknown> = { ...(req.body ?? {}) };
    // RFC 6749 2.3.1: client credentials may come as HTTP Basic instead of in the body.
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const [id, ...secret] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
      body.client_id ??= decodeURIComponent(id ?? '');
      body.client_secret ??= decodeURIComponent(secret.join(':'));
    }
    if (body.grant_type !== undefined && body.grant_type !== 'client_credentials') {
      return tokenError(res, 400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported');
    }
    const clientId = typeof body.client_id === 'string' && body.client_id.length <= 128 ? body.client_id : undefined;
    try {
      // Failed logins are throttled per client id and source IP (auth-rate-limit.ts); 429 + Retry-After.
      ctx.authLimiter.check(req, clientId);
    } catch (err) {
      if (!(err instanceof TooManyRequests)) throw err;
      res.setHeader('Retry-After', String(err.retryAfterS));
      return tokenError(res, 429, 'invalid_request', err.message);
    }
    const parsed = ClientCredentialRequest.safeParse(body);
    if (!parsed.success) {
      ctx.authLimiter.failed(req, clientId);
      return tokenError(res, 400, 'invalid_request', `grant_type, client_id and client_secret are required`);
    }
    try {
      const t = await ctx.issuer.issue(ctx.db, parsed.data.client_id, parsed.data.client_secret, parsed.data.scope);
      ctx.log.info({ clientId: parsed.data.client_id }, 'OpenADR token issued');
      res.status(200).json({ access_token: t.token, token_type: 'Bearer', expires_in: t.expiresIn, scope: t.scopes.join(' ') });
    } catch (err) {
      if (err instanceof TokenError) {
        ctx.authLimiter.failed(req, clientId);
        return tokenError(res, err.error === 'invalid_client' ? 401 : 400, err.error, err.message);
      }
      throw err;
    }
  });

  // Definitions, MQTT Notifier Binding Authentication: OAUTH2_BEARER_TOKEN = the access token as password.
  const mqttAuthentication = () =>
    ctx.config.OPENADR_MQTT_AUTHENTICATION === 'ANONYMOUS' ? { method: 'ANONYMOUS' } : { method: 'OAUTH2_BEARER_TOKEN', username: '{clientID}' };
  const anyRead = (p: OpenadrPrincipal) => requireScope(p, 'read_all', 'read_bl', 'read_targets', 'read_ven_objects');
  const blRead = (p: OpenadrPrincipal) => requireScope(p, 'read_all', 'read_bl');

  route(api, {
    method: 'get', path: '/notifiers', summary: 'listAllNotifiers', auth,
    handler: async ({ principal }) => {
      anyRead(principal);
      const mqtt = ctx.config.OPENADR_MQTT_BROKER_URL;
      return {
        WEBHOOK: true,
        ...(mqtt ? { MQTT: { URIS: [mqtt], serialization: 'JSON', authentication: mqttAuthentication() } } : {}),
      };
    },
  });

  const root = () => `${ctx.config.MQTT_TOPIC_PREFIX}/openadr3`;
  const topics = (path: string, withCreate = true) => ({ topics: operationTopics(`${root()}/${path}`, withCreate) });
  const mqttOn = () => {
    if (!ctx.config.OPENADR_MQTT_BROKER_URL) throw new NotFound('the MQTT notifier is not enabled on this VTN');
  };
  const programVisible = async (p: OpenadrPrincipal, id: string) => {
    // Topic discovery has no targets parameter: a VEN may learn the topics of untargeted programs and
    // of those granted to it.
    const programId = parseOrThrow(ObjectId, id, 'programID');
    const views = [await targetView(ctx.db, p, undefined)];
    if (!isBl(p)) views.push(await targetView(ctx.db, p, (await grantedTargets(ctx.db, p.clientId)) ?? []));
    for (const view of views) {
      if ((await search(ctx.db, 'PROGRAM', { equals: { id: programId }, targets: view }, { skip: 0, limit: 1 })).length > 0) return;
    }
    throw new NotFound(`program ${id} not found`);
  };
  const venVisible = async (p: OpenadrPrincipal, id: string) => {
    const found = await search(ctx.db, 'VEN', { equals: { id: parseOrThrow(ObjectId, id, 'venID') }, ownerClientId: isBl(p) ? undefined : p.clientId }, { skip: 0, limit: 1 });
    if (found.length === 0) throw new NotFound(`ven ${id} not found`);
  };

  const simple: [string, string, (p: OpenadrPrincipal) => void][] = [
    ['/notifiers/mqtt/topics/programs', 'programs', anyRead],
    ['/notifiers/mqtt/topics/events', 'events', blRead],
    ['/notifiers/mqtt/topics/reports', 'reports', blRead],
    ['/notifiers/mqtt/topics/subscriptions', 'subscriptions', blRead],
    ['/notifiers/mqtt/topics/vens', 'vens', blRead],
    ['/notifiers/mqtt/topics/resources', 'resources', blRead],
  ];
  for (const [path, base, check] of simple) {
    route(api, {
      method: 'get', path, summary: `MQTT topics of ${base}`, auth,
      handler: async ({ principal }) => {
        check(principal);
        mqttOn();
        return topics(base);
      },
    });
  }
  route(api, {
    method: 'get', path: '/notifiers/mqtt/topics/programs/:programID', summary: 'MQTT topics of one program', auth,
    handler: async ({ principal, params }) => {
      anyRead(principal);
      mqttOn();
      await programVisible(principal, params.programID!);
      return topics(`programs/${params.programID}`, false);
    },
  });
  route(api, {
    method: 'get', path: '/notifiers/mqtt/topics/programs/:programID/events', summary: 'MQTT topics of the events of one program', auth,
    handler: async ({ principal, params }) => {
      anyRead(principal);
      mqttOn();
      await programVisible(principal, params.programID!);
      return topics(`programs/${params.programID}/events`);
    },
  });
  route(api, {
    method: 'get', path: '/notifiers/mqtt/topics/vens/:venID', summary: 'MQTT topics of one ven', auth,
    handler: async ({ principal, params }) => {
      requireScope(principal, 'read_all', 'read_ven_objects');
      mqttOn();
      await venVisible(principal, params.venID!);
      return topics(`vens/${params.venID}`, false);
    },
  });
  for (const family of ['events', 'programs', 'resources']) {
    route(api, {
      method: 'get', path: `/notifiers/mqtt/topics/vens/:venID/${family}`, summary: `MQTT topics of the ${family} of one ven`, auth,
      handler: async ({ principal, params }) => {
        requireScope(principal, 'read_all', 'read_ven_objects');
        mqttOn();
        await venVisible(principal, params.venID!);
        return topics(`vens/${params.venID}/${family}`);
      },
    });
  }
}
