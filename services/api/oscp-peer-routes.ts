import { z } from 'zod';
import type { Db } from '../store/db.ts';
import { audit } from '../store/audit-store.ts';
import { createOscpPeer, getOscpPeer, issueRegistrationToken, listOscpPeers, revokeOscpPeer } from '../oscp/index.ts';
import { NotFound } from '../http/errors.ts';
import { route, type ApiRouter, type Authenticator } from '../http/route.ts';
import type { AdminPrincipal } from '../http/admin-auth.ts';

export function oscpPeerRoutes(api: ApiRouter, deps: { db: Db; auth: Authenticator<AdminPrincipal> }): void {
  const { db, auth } = deps;

  route(api, {
    method: 'post', path: '/oscp/peers',
    summary: 'Create an OSCP peer (a DSO as capacity_provider, or a CPO backend as flexibility_provider) and its one-time registration token; hand the token to the peer out of band',
    auth,
    body: z.object({ name: z.string().min(1).max(200), role: z.enum(['capacity_provider', 'flexibility_provider']).default('capacity_provider') }),
    status: 201,
    response: z.object({ peerId: z.string(), registrationToken: z.string() }),
    handler: async ({ body }) =>
      db.tx(async (q) => {
        const out = await createOscpPeer(q, { name: body.name, role: body.role });
        await audit(q, 'admin', 'oscp.peer.create', out.peerId, { name: body.name, role: body.role });
        return out;
      }),
  });

  route(api, {
    method: 'get', path: '/oscp/peers', summary: 'OSCP peers with their registration, handshake and heartbeat state', auth,
    handler: async () => ({ peers: await listOscpPeers(db) }),
  });

  route(api, {
    method: 'post', path: '/oscp/peers/:id/registration-token', summary: 'Issue a new one-time registration token for a peer (re-registration)', auth,
    status: 201,
    handler: async ({ params }) =>
      db.tx(async (q) => {
        const token = await issueRegistrationToken(q, params.id!);
        if (!token) throw new NotFound(`OSCP peer ${params.id} does not exist`);
        await audit(q, 'admin', 'oscp.peer.token', params.id!);
        return { peerId: params.id, registrationToken: token };
      }),
  });

  route(api, {
    method: 'delete', path: '/oscp/peers/:id', summary: 'Revoke a peer: its tokens stop working at once', auth,
    handler: async ({ params }) => {
      if (!(await getOscpPeer(db, params.id!))) throw new NotFound(`OSCP peer ${params.id} does not exist`);
      await db.tx(async (q) => {
        await revokeOscpPeer(q, params.id!);
        await audit(q, 'admin', 'oscp.peer.revoke', params.id!);
      });
      return undefined;
    },
  });
}
