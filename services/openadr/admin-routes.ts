import { z } from 'zod';
import { ObjectId, ScopeSchema } from '../../grid-adapters/openadr3/index.ts';
import type { AdminPrincipal } from '../http/admin-auth.ts';
import { NotFound } from '../http/errors.ts';
import { route, type ApiRouter, type Authenticator } from '../http/route.ts';
import { audit } from '../store/audit-store.ts';
import type { Db } from '../store/db.ts';
import { createOpenadrClient, listOpenadrClients, revokeOpenadrClient } from './auth.ts';
import { cancelOptOut, optOutOfEvent } from './signal-store.ts';

/**
 * Admin API for OpenADR (mounted by the composition root under /api/v1 with the admin token):
 * OAuth2 clients of the VTN (BL and VEN), and opt-outs of DR events per topology node.
 */
export function openadrAdminRoutes(api: ApiRouter, deps: { db: Db; auth: Authenticator<AdminPrincipal>; onSignalsChanged(gridAreaId: string): void }): void {
  const { db, auth } = deps;

  route(api, {
    method: 'post', path: '/openadr/clients',
    summary: 'Create an OpenADR 3 VTN client (BL or VEN); the client secret is shown once, hand it over out of band',
    auth,
    body: z.object({ name: z.string().min(1).max(200), role: z.enum(['bl', 'ven']), scopes: z.array(ScopeSchema).min(1).optional() }),
    status: 201,
    response: z.object({ clientId: z.string(), clientSecret: z.string(), scopes: z.array(z.string()) }),
    handler: async ({ body }) =>
      db.tx(async (q) => {
        const out = await createOpenadrClient(q, body);
        await audit(q, 'admin', 'openadr.client.create', out.clientId, { name: body.name, role: body.role, scopes: out.scopes });
        return out;
      }),
  });

  route(api, {
    method: 'get', path: '/openadr/clients', summary: 'OpenADR 3 VTN clients (without secrets)', auth,
    handler: async () => ({ clients: await listOpenadrClients(db) }),
  });

  route(api, {
    method: 'delete', path: '/openadr/clients/:id', summary: 'Revoke an OpenADR client: its tokens stop working at once', auth,
    handler: async ({ params }) =>
      db.tx(async (q) => {
        if (!(await revokeOpenadrClient(q, params.id!))) throw new NotFound(`OpenADR client ${params.id} does not exist`);
        await audit(q, 'admin', 'openadr.client.revoke', params.id!);
        return undefined;
      }),
  });

  const OptOut = z.object({ eventId: ObjectId, nodeId: z.string().min(1).max(200) });

  route(api, {
    method: 'post', path: '/openadr/opt-outs',
    summary: 'Opt a topology node out of a DR event (OpenADR 3 has no opt-out): the event stops limiting that node',
    auth, body: OptOut, status: 201,
    handler: async ({ body }) => {
      const area = await db.tx(async (q) => {
        const a = await optOutOfEvent(q, { ...body, source: 'admin' });
        if (!a) throw new NotFound(`no topology node ${body.nodeId}`);
        await audit(q, 'admin', 'openadr.opt_out', body.eventId, { nodeId: body.nodeId });
        return a;
      });
      deps.onSignalsChanged(area);
      return { ...body, gridAreaId: area };
    },
  });

  route(api, {
    method: 'delete', path: '/openadr/opt-outs/:eventId/:nodeId', summary: 'Withdraw an opt-out: the event applies to the node again', auth,
    handler: async ({ params }) => {
      const area = await db.tx(async (q) => {
        if (!(await cancelOptOut(q, params.eventId!, params.nodeId!))) throw new NotFound('no such opt-out');
        await audit(q, 'admin', 'openadr.opt_out.cancel', params.eventId!, { nodeId: params.nodeId });
        const [n] = await q.query<{ grid_area_id: string }>('SELECT grid_area_id FROM topology_node WHERE id = $1', [params.nodeId!]);
        return n?.grid_area_id;
      });
      if (area) deps.onSignalsChanged(area);
      return undefined;
    },
  });
}
