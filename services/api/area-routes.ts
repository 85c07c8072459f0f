import { z } from 'zod';
import type { Db } from '../store/db.ts';
import { getNode, listGridAreas, listAreaNodes } from '../store/topology-store.ts';
import { latestForecasts } from '../store/forecast-store.ts';
import { latestRun, recentRuns, setpointsOfRun } from '../store/allocation-store.ts';
import { NotFound } from '../http/errors.ts';
import { route, type ApiRouter, type Authenticator } from '../http/route.ts';
import type { AdminPrincipal } from '../http/admin-auth.ts';
import type { Orchestrator } from '../core/orchestrator.ts';

export function areaRoutes(api: ApiRouter, deps: { db: Db; auth: Authenticator<AdminPrincipal>; orchestrator: Orchestrator }): void {
  const { db, auth } = deps;

  async function area(idParam: string | undefined) {
    const n = idParam ? await getNode(db, idParam) : undefined;
    if (!n || n.kind !== 'grid_area') throw new NotFound(`grid area ${idParam} does not exist`);
    return n;
  }

  route(api, {
    method: 'get', path: '/grid-areas', summary: 'Grid areas with their latest allocation status', auth,
    handler: async () => {
      const areas = await listGridAreas(db);
      return {
        gridAreas: await Promise.all(
          areas.map(async (a) => {
            const run = await latestRun(db, a.id);
            return { id: a.id, name: a.name, importLimitKw: a.importLimitKw ?? null, latestRun: run ? { id: run.id, status: run.status, verified: run.verified, createdAt: run.createdAt } : null };
          }),
        ),
      };
    },
  });

  route(api, {
    method: 'get', path: '/grid-areas/:id/forecast', summary: 'Newest capacity forecast of every type for the grid area and its nodes', auth,
    handler: async ({ params }) => {
      const a = await area(params.id);
      const nodes = await listAreaNodes(db, a.id);
      const out: Record<string, unknown> = {};
      for (const n of nodes) {
        const f = await latestForecasts(db, n.id);
        if (f.length > 0) out[n.id] = f.map((x) => ({ ...x, blocks: x.blocks.map((b) => ({ startAt: new Date(b.startMs).toISOString(), endAt: new Date(b.endMs).toISOString(), kw: b.kw })) }));
      }
      return { gridAreaId: a.id, forecasts: out };
    },
  });

  route(api, {
    method: 'get', path: '/grid-areas/:id/allocation', summary: 'Latest allocation run of the grid area with its setpoints', auth,
    query: z.object({ verifiedOnly: z.enum(['true', 'false']).optional() }),
    handler: async ({ params, query }) => {
      const a = await area(params.id);
      const run = await latestRun(db, a.id, query.verifiedOnly === 'true');
      if (!run) throw new NotFound(`grid area ${a.id} has no allocation yet`);
      return { run, setpoints: run.verified ? await setpointsOfRun(db, run.id) : [] };
    },
  });

  route(api, {
    method: 'get', path: '/grid-areas/:id/runs', summary: 'Recent allocation runs (the decision trail)', auth,
    query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) }),
    handler: async ({ params, query }) => {
      const a = await area(params.id);
      return { runs: await recentRuns(db, a.id, query.limit) };
    },
  });

  route(api, {
    method: 'post', path: '/grid-areas/:id/reallocate', summary: 'Re-allocate the grid area now and dispatch the result', auth,
    handler: async ({ params }) => {
      const a = await area(params.id);
      return deps.orchestrator.runNow(a.id, 'api');
    },
  });
}
