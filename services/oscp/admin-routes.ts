import { z } from 'zod';
import type { AdminPrincipal } from '../http/admin-auth.ts';
import { NotFound } from '../http/errors.ts';
import { route, type ApiRouter, type Authenticator } from '../http/route.ts';
import { audit } from '../store/audit-store.ts';
import type { Db } from '../store/db.ts';
import { getNode } from '../store/topology-store.ts';
import { deleteOscpCpoGroup, listOscpCpoGroups, setOscpCpoGroup } from './oscp-groups.ts';
import { getOscpPeer } from './peer-store.ts';
import { startRegistration } from './registration.ts';

/**
 * Admin API routes for what OSCP adds beyond peers (services/api/oscp-peer-routes.ts): start a
 * registration toward a peer (token exchange initiated by gridflex) and map CPO groups to nodes
 * (gridflex as Capacity Provider). Mounted on the admin API router like the other admin routes.
 */
export function oscpAdminRoutes(api: ApiRouter, deps: { db: Db; auth: Authenticator<AdminPrincipal>; publicBaseUrl: () => string }): void {
  const { db, auth } = deps;

  route(api, {
    method: 'post',
    path: '/oscp/peers/:id/register',
    summary: 'Register with a peer first: its base_url and the one-time registration token its operator handed over (OSCP 2.0 Register)',
    auth,
    body: z.object({ baseUrl: z.string().min(1).max(2000), registrationToken: z.string().min(1).max(2000) }),
    status: 202,
    handler: async ({ params, body }) => {
      await db.tx((q) => startRegistration(q, params.id!, { baseUrl: body.baseUrl, registrationToken: body.registrationToken, publicBaseUrl: deps.publicBaseUrl() }));
      return { peerId: params.id, state: 'registered', awaitingRegisterBack: true };
    },
  });

  route(api, {
    method: 'get',
    path: '/oscp/cpo-groups',
    summary: 'OSCP groups published to CPOs (gridflex as Capacity Provider): peer, group id, node',
    auth,
    handler: async () => ({ groups: await listOscpCpoGroups(db) }),
  });

  route(api, {
    method: 'put',
    path: '/oscp/cpo-groups/:peerId/:groupId',
    summary: 'Map a CPO’s OSCP group to a node; gridflex publishes that node’s share of the capacity to the CPO',
    auth,
    body: z.object({ nodeId: z.string().min(1).max(200) }),
    handler: async ({ params, body }) =>
      db.tx(async (q) => {
        const peer = await getOscpPeer(q, params.peerId!);
        if (!peer || peer.role !== 'flexibility_provider') throw new NotFound(`no CPO (flexibility_provider) peer ${params.peerId}`);
        if (!(await getNode(q, body.nodeId))) throw new NotFound(`no node ${body.nodeId}`);
        await setOscpCpoGroup(q, { peerId: params.peerId!, groupId: params.groupId!, nodeId: body.nodeId });
        await audit(q, 'admin', 'oscp.cpo_group.set', params.peerId!, { groupId: params.groupId, nodeId: body.nodeId });
        return { peerId: params.peerId, groupId: params.groupId, nodeId: body.nodeId };
      }),
  });

  route(api, {
    method: 'delete',
    path: '/oscp/cpo-groups/:peerId/:groupId',
    summary: 'Stop publishing a CPO group',
    auth,
    handler: async ({ params }) =>
      db.tx(async (q) => {
        if (!(await deleteOscpCpoGroup(q, params.peerId!, params.groupId!))) throw new NotFound(`no CPO group ${params.groupId} of peer ${params.peerId}`);
        await audit(q, 'admin', 'oscp.cpo_group.delete', params.peerId!, { groupId: params.groupId });
        return undefined;
      }),
  });
}
