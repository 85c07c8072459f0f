import { z } from 'zod';
import type { Db } from '../store/db.ts';
import { deleteNode, getNode, listAreaNodes, listGridAreas, listOscpGroups, setOscpGroup, upsertNodes } from '../store/topology-store.ts';
import { audit } from '../store/audit-store.ts';
import { NotFound, Unprocessable } from '../http/errors.ts';
import { route, type ApiRouter, type Authenticator } from '../http/route.ts';
import type { AdminPrincipal } from '../http/admin-auth.ts';

const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');
const kw = z.number().finite().min(0).max(1e7).nullish();

export const nodeSchema = z.object({
  id,
  kind: z.enum(['grid_area', 'connection_point', 'cpo', 'site', 'station', 'evse']),
  parentId: id.nullable(),
  name: z.string().max(200).nullish(),
  importLimitKw: kw,
  exportLimitKw: kw,
  maxPowerKw: kw,
  minPowerKw: kw,
  ocppEvseId: z.number().int().min(0).max(1000).nullish(),
  voltageV: z.number().positive().max(1000).nullish(),
  phases: z.union([z.literal(1), z.literal(3)]).nullish(),
  /** Per-phase current limits (A) on each phase of the node, at voltageV (default 230 V) and phases (docs/admin-api.md). */
  importLimitA: z.number().finite().min(0).max(1e6).nullish(),
  exportLimitA: z.number().finite().min(0).max(1e6).nullish(),
  /** Single-phase EVSE or node: the phase it is on, when known. */
  phase: z.enum(['L1', 'L2', 'L3']).nullish(),
  /** CPO only: class for SHARING_POLICY=priority, higher served first (docs/optimizer.md, "Sharing"). */
  sharingClass: z.number().int().min(-1000).max(1000).nullish(),
});

export const topologyImportSchema = z.object({
  nodes: z.array(nodeSchema).max(100_000),
  oscpGroups: z.array(z.object({ groupId: z.string().min(1).max(200), nodeId: id, peerId: z.string().min(1).max(200).nullish() })).max(10_000).optional(),
});

export function topologyRoutes(
  api: ApiRouter,
  deps: {
    db: Db;
    auth: Authenticator<AdminPrincipal>;
    onAreaChanged(gridAreaId: string, reason: string): void;
    /** Called before stations leave the topology (to clear what gridflex installed on them). */
    beforeStationsRemoved?(stationIds: string[]): Promise<void>;
  },
): void {
  const { db, auth } = deps;

  route(api, {
    method: 'put', path: '/topology', summary: 'Import (insert or update) topology nodes and OSCP group mappings', auth,
    body: topologyImportSchema,
    response: z.object({ nodes: z.number(), oscpGroups: z.number(), gridAreas: z.array(z.string()) }),
    handler: async ({ body }) => {
      const areas = await db.tx(async (q) => {
        try {
          await upsertNodes(q, body.nodes);
        } catch (err) {
          if ((err as { code?: string }).code === 'TOPOLOGY') throw new Unprocessable((err as Error).message);
          throw err;
        }
        for (const g of body.oscpGroups ?? []) {
          if (!(await getNode(q, g.nodeId))) throw new Unprocessable(`oscpGroups: node ${g.nodeId} does not exist`);
          await setOscpGroup(q, g.groupId, g.nodeId, g.peerId ?? null);
        }
        const touched = new Set<string>();
        for (const n of body.nodes) {
          const stored = await getNode(q, n.id);
          if (stored) touched.add(stored.gridAreaId);
        }
        await audit(q, 'admin', 'topology.import', null, { nodes: body.nodes.length, oscpGroups: body.oscpGroups?.length ?? 0 });
        return [...touched];
      });
      for (const a of areas) deps.onAreaChanged(a, 'topology');
      return { nodes: body.nodes.length, oscpGroups: body.oscpGroups?.length ?? 0, gridAreas: areas };
    },
  });

  route(api, {
    method: 'get', path: '/topology', summary: 'Topology nodes, optionally of one grid area', auth,
    query: z.object({ gridArea: id.optional() }),
    handler: async ({ query }) => {
      const areas = query.gridArea ? [query.gridArea] : (await listGridAreas(db)).map((a) => a.id);
      const nodes = (await Promise.all(areas.map((a) => listAreaNodes(db, a)))).flat();
      return { nodes, oscpGroups: await listOscpGroups(db) };
    },
  });

  route(api, {
    method: 'get', path: '/nodes/:id', summary: 'One topology node', auth,
    handler: async ({ params }) => {
      const n = await getNode(db, params.id!);
      if (!n) throw new NotFound(`node ${params.id} does not exist`);
      return n;
    },
  });

  route(api, {
    method: 'delete', path: '/nodes/:id', summary: 'Delete a node and everything below it', auth,
    handler: async ({ params }) => {
      const n = await getNode(db, params.id!);
      if (!n) throw new NotFound(`node ${params.id} does not exist`);
      const stations = await db.query<{ id: string }>(
        `WITH RECURSIVE sub AS (SELECT id, kind FROM topology_node WHERE id = $1
           UNION ALL SELECT t.id, t.kind FROM topology_node t JOIN sub ON t.parent_id = sub.id)
         SELECT id FROM sub WHERE kind = 'station'`,
        [n.id],
      );
      if (stations.length > 0) await deps.beforeStationsRemoved?.(stations.map((r) => r.id));
      await deleteNode(db, n.id);
      await audit(db, 'admin', 'topology.delete', n.id);
      if (n.kind !== 'grid_area') deps.onAreaChanged(n.gridAreaId, 'topology');
      return undefined;
    },
  });
}
