import { Name128, ObjectId, ObjectType, ReportRequest, SubscriptionRequest } from '../../grid-adapters/openadr3/index.ts';
import { BadRequest, NotFound } from '../http/errors.ts';
import { parseOrThrow, route } from '../http/route.ts';
import type { Queryable } from '../store/db.ts';
import { isBl, requireRead, requireScope, type OpenadrPrincipal } from './auth.ts';
import { optOutOfEvent } from './signal-store.ts';
import { PageQuery, arrayParam, mutate, storedBody, type VtnContext } from './vtn-context.ts';
import { deleteObject, getObject, insertObject, newObjectId, search, toWire, updateObject, type StoredObject } from './vtn-store.ts';

/**
 * /reports and /subscriptions: objects a client creates for itself. "When a VEN creates a ...
 * subscription, or report object the VTN SHALL ... write the identifier into the object.clientID
 * field"; a VEN reads, updates and deletes only its own (Definitions, Object Privacy).
 *
 * Opt-out (OpenADR 3 has none): a report whose resource carries a payload `{"type": "OPT_OUT",
 * "values": [true]}` (a private payload type) and whose resourceName is a gridflex topology node id
 * takes that node out of the event: its signals stop applying there (see docs/openadr.md).
 */
export const OPT_OUT_PAYLOAD = 'OPT_OUT';

function owner(p: OpenadrPrincipal): string | undefined {
  return isBl(p) ? undefined : p.clientId;
}

async function own(q: Queryable, p: OpenadrPrincipal, type: 'REPORT' | 'SUBSCRIPTION', id: string): Promise<StoredObject> {
  const [o] = await search(q, type, { equals: { id }, ownerClientId: owner(p) }, { skip: 0, limit: 1 });
  if (!o) throw new NotFound(`${type.toLowerCase()} ${id} not found`);
  return o;
}

/** Nodes a report opts out of its event. */
function optOutNodes(r: ReportRequest): string[] {
  const nodes: string[] = [];
  for (const res of r.resources) {
    const out = res.intervals.some((iv) => iv.payloads.some((p) => p.type === OPT_OUT_PAYLOAD && p.values[0] === true));
    if (out) nodes.push(res.resourceName);
  }
  return nodes;
}

/** The "callback check": a callback must be an absolute http(s) URL. */
function checkCallbacks(s: SubscriptionRequest): void {
  for (const op of s.objectOperations) {
    const u = new URL(op.callbackUrl);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new BadRequest(`callbackUrl must be http or https: ${op.callbackUrl}`);
    if (u.username || u.password) throw new BadRequest('callbackUrl must not carry credentials (use bearerToken)');
  }
}

export function registerReportRoutes(ctx: VtnContext): void {
  const { api, auth } = ctx;

  route(api, {
    method: 'get', path: '/reports', summary: 'searchAllReports', auth,
    query: PageQuery.extend({ programID: ObjectId.optional(), eventID: ObjectId.optional(), clientName: Name128.optional() }),
    handler: async ({ query, principal }) => {
      requireRead(principal, 'read_ven_objects');
      const rows = await search(ctx.db, 'REPORT', { equals: { program_id: query.programID, event_id: query.eventID, client_name: query.clientName }, ownerClientId: owner(principal) }, query);
      return rows.map((o) => toWire(o));
    },
  });

  async function writeReport(q: Queryable, principal: OpenadrPrincipal, body: ReportRequest, signalsChanged: (a: string) => void) {
    const ev = await getObject(q, 'EVENT', body.eventID);
    if (!ev) throw new BadRequest(`eventID: no event ${body.eventID}`);
    for (const nodeId of optOutNodes(body)) {
      // Only nodes in the grid area of the event's program can opt out of it.
      const inArea = await q.query(
        `SELECT 1 FROM topology_node n JOIN openadr_program p ON p.id = $2 JOIN topology_node pn ON pn.id = p.node_id
         WHERE n.id = $1 AND n.grid_area_id = pn.grid_area_id`,
        [nodeId, ev.programId!],
      );
      if (inArea.length === 0) continue;
      const area = await optOutOfEvent(q, { eventId: ev.id, nodeId, source: `openadr-report:${principal.clientId}` });
      if (area) signalsChanged(area);
    }
    return { body: { ...storedBody(body), clientID: principal.clientId }, cols: { client_id: principal.clientId, event_id: ev.id, program_id: ev.programId!, client_name: body.clientName } };
  }

  route(api, {
    method: 'post', path: '/reports', summary: 'createReport', auth, body: ReportRequest, status: 201,
    handler: async ({ body, principal }) => {
      requireScope(principal, 'write_reports');
      return mutate(ctx, async (q, out) => {
        const r = await writeReport(q, principal, body, out.signalsChanged);
        const o = await insertObject(q, 'REPORT', newObjectId('report'), r.body, r.cols);
        await out.notify({ objectType: 'REPORT', operation: 'CREATE', object: o });
        return toWire(o);
      });
    },
  });

  route(api, {
    method: 'get', path: '/reports/:reportID', summary: 'searchReportsByReportID', auth,
    handler: async ({ params, principal }) => {
      requireRead(principal, 'read_ven_objects');
      return toWire(await own(ctx.db, principal, 'REPORT', parseOrThrow(ObjectId, params.reportID, 'reportID')));
    },
  });

  route(api, {
    method: 'put', path: '/reports/:reportID', summary: 'updateReport', auth, body: ReportRequest,
    handler: async ({ params, body, principal }) => {
      requireScope(principal, 'write_reports');
      return mutate(ctx, async (q, out) => {
        const prev = await own(q, principal, 'REPORT', params.reportID!);
        const r = await writeReport(q, principal, body, out.signalsChanged);
        const o = (await updateObject(q, 'REPORT', prev.id, r.body, r.cols))!;
        await out.notify({ objectType: 'REPORT', operation: 'UPDATE', object: o });
        return toWire(o);
      });
    },
  });

  route(api, {
    method: 'delete', path: '/reports/:reportID', summary: 'deleteReport', auth,
    handler: async ({ params, principal }) => {
      requireScope(principal, 'write_reports');
      return mutate(ctx, async (q, out) => {
        const prev = await own(q, principal, 'REPORT', params.reportID!);
        const o = (await deleteObject(q, 'REPORT', prev.id))!;
        await out.notify({ objectType: 'REPORT', operation: 'DELETE', object: o });
        return toWire(o);
      });
    },
  });

  route(api, {
    method: 'get', path: '/subscriptions', summary: 'searchSubscriptions', auth,
    query: PageQuery.extend({ programID: ObjectId.optional(), clientName: Name128.optional(), objects: arrayParam(ObjectType) }),
    handler: async ({ query, principal }) => {
      requireRead(principal, 'read_ven_objects');
      const objects = query.objects ?? [];
      const rows = await search(
        ctx.db, 'SUBSCRIPTION',
        {
          equals: { program_id: query.programID, client_name: query.clientName },
          ownerClientId: owner(principal),
          extra: objects.length ? (p) => (p.push(JSON.stringify([{ objects }])), `body->'objectOperations' @> $${p.length}::jsonb`) : undefined,
        },
        query,
      );
      return rows.map((o) => toWire(o));
    },
  });

  async function subscriptionCols(q: Queryable, principal: OpenadrPrincipal, body: SubscriptionRequest) {
    checkCallbacks(body);
    if (body.programID && !(await getObject(q, 'PROGRAM', body.programID))) throw new BadRequest(`programID: no program ${body.programID}`);
    return { body: { ...storedBody(body), clientID: principal.clientId }, cols: { client_id: principal.clientId, client_name: body.clientName, program_id: body.programID ?? null } };
  }

  route(api, {
    method: 'post', path: '/subscriptions', summary: 'createSubscription', auth, body: SubscriptionRequest, status: 201,
    handler: async ({ body, principal }) => {
      requireScope(principal, 'write_subscriptions');
      return mutate(ctx, async (q, out) => {
        const s = await subscriptionCols(q, principal, body);
        const o = await insertObject(q, 'SUBSCRIPTION', newObjectId('subscription'), s.body, s.cols);
        await out.notify({ objectType: 'SUBSCRIPTION', operation: 'CREATE', object: o });
        return toWire(o);
      });
    },
  });

  route(api, {
    method: 'get', path: '/subscriptions/:subscriptionID', summary: 'searchSubscriptionByID', auth,
    handler: async ({ params, principal }) => {
      requireRead(principal, 'read_ven_objects');
      return toWire(await own(ctx.db, principal, 'SUBSCRIPTION', parseOrThrow(ObjectId, params.subscriptionID, 'subscriptionID')));
    },
  });

  route(api, {
    method: 'put', path: '/subscriptions/:subscriptionID', summary: 'updateSubscription', auth, body: SubscriptionRequest,
    handler: async ({ params, body, principal }) => {
      requireScope(principal, 'write_subscriptions');
      return mutate(ctx, async (q, out) => {
        const prev = await own(q, principal, 'SUBSCRIPTION', params.subscriptionID!);
        const s = await subscriptionCols(q, principal, body);
        const o = (await updateObject(q, 'SUBSCRIPTION', prev.id, s.body, s.cols))!;
        await out.notify({ objectType: 'SUBSCRIPTION', operation: 'UPDATE', object: o });
        return toWire(o);
      });
    },
  });

  route(api, {
    method: 'delete', path: '/subscriptions/:subscriptionID', summary: 'deleteSubscription', auth,
    handler: async ({ params, principal }) => {
      requireScope(principal, 'write_subscriptions');
      return mutate(ctx, async (q, out) => {
        const prev = await own(q, principal, 'SUBSCRIPTION', params.subscriptionID!);
        const o = (await deleteObject(q, 'SUBSCRIPTION', prev.id))!;
        await out.notify({ objectType: 'SUBSCRIPTION', operation: 'DELETE', object: o });
        return toWire(o);
      });
    },
  });
}
