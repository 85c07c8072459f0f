import { Name128, ObjectId, ResourceRequest, VenRequest } from '../../grid-adapters/openadr3/index.ts';
import { BadRequest, Forbidden, NotFound } from '../http/errors.ts';
import { parseOrThrow, route } from '../http/route.ts';
import type { Queryable } from '../store/db.ts';
import { isBl, requireRead, requireScope, type OpenadrPrincipal } from './auth.ts';
import { PageQuery, TargetsQuery, mutate, storedBody, type VtnContext } from './vtn-context.ts';
import { deleteObject, insertObject, newObjectId, search, toWire, updateObject, type StoredObject } from './vtn-store.ts';

/**
 * /vens and /resources. Definitions, Object Privacy:
 * - "When a VEN creates a ven ... the VTN SHALL ... write the identifier into the object.clientID";
 *   BL provides clientID in the body (BL_VEN_REQUEST / BL_RESOURCE_REQUEST).
 * - "Only BL clients may write targets to ven and resource objects": a VEN uses VEN_VEN_REQUEST /
 *   VEN_RESOURCE_REQUEST (no targets); the BL forms from a VEN are refused (403). On a VEN's update the
 *   targets BL granted are kept.
 * - A VEN reads, updates and deletes only its own (others are "not found": their existence is not disclosed).
 * Names: venName unique per VTN, resourceName unique per ven (Definitions, Object names) → 409.
 */

function owner(p: OpenadrPrincipal): string | undefined {
  return isBl(p) ? undefined : p.clientId;
}

/** `inBody`: the id comes from a request body (a missing one is a 400, not a 404). */
async function ownVen(q: Queryable, p: OpenadrPrincipal, venId: string, inBody = false): Promise<StoredObject> {
  const [v] = await search(q, 'VEN', { equals: { id: venId }, ownerClientId: owner(p) }, { skip: 0, limit: 1 });
  if (!v && inBody) throw new BadRequest(`venID: no ven ${venId}`);
  if (!v) throw new NotFound(`ven ${venId} not found`);
  return v;
}

async function ownResource(q: Queryable, p: OpenadrPrincipal, id: string): Promise<StoredObject> {
  const [r] = await search(q, 'RESOURCE', { equals: { id }, ownerClientId: owner(p) }, { skip: 0, limit: 1 });
  if (!r) throw new NotFound(`resource ${id} not found`);
  return r;
}

function venBody(p: OpenadrPrincipal, body: VenRequest, previous?: StoredObject): { body: Record<string, unknown>; clientId: string; targets: string[] } {
  if (body.objectType === 'BL_VEN_REQUEST') {
    if (!isBl(p)) throw new Forbidden('a VEN creates and updates its ven with VEN_VEN_REQUEST (only BL sets clientID and targets)');
    return { body: storedBody(body), clientId: body.clientID, targets: body.targets ?? [] };
  }
  if (isBl(p)) throw new BadRequest('BL creates and updates vens with BL_VEN_REQUEST (clientID required)');
  const targets = previous?.targets ?? [];
  return { body: { ...storedBody(body), clientID: p.clientId, targets: targets.length ? targets : null }, clientId: p.clientId, targets };
}

export function registerVenRoutes(ctx: VtnContext): void {
  const { api, auth } = ctx;

  route(api, {
    method: 'get', path: '/vens', summary: 'searchVens', auth,
    query: PageQuery.extend(TargetsQuery.shape).extend({ venName: Name128.optional() }),
    handler: async ({ query, principal }) => {
      requireRead(principal, 'read_ven_objects');
      const targets = query.targets?.length ? { all: true as const, filter: query.targets } : undefined;
      const rows = await search(ctx.db, 'VEN', { equals: { ven_name: query.venName }, ownerClientId: owner(principal), targets }, query);
      return rows.map((o) => toWire(o));
    },
  });

  route(api, {
    method: 'post', path: '/vens', summary: 'createVen', auth, body: VenRequest, status: 201,
    handler: async ({ body, principal }) => {
      requireScope(principal, 'write_vens');
      const v = venBody(principal, body);
      return mutate(ctx, async (q, out) => {
        const o = await insertObject(q, 'VEN', newObjectId('ven'), v.body, { client_id: v.clientId, ven_name: body.venName, targets: v.targets });
        await out.notify({ objectType: 'VEN', operation: 'CREATE', object: o });
        return toWire(o);
      });
    },
  });

  route(api, {
    method: 'get', path: '/vens/:venID', summary: 'searchVenByID', auth,
    handler: async ({ params, principal }) => {
      requireRead(principal, 'read_ven_objects');
      return toWire(await ownVen(ctx.db, principal, parseOrThrow(ObjectId, params.venID, 'venID')));
    },
  });

  route(api, {
    method: 'put', path: '/vens/:venID', summary: 'updateVen', auth, body: VenRequest,
    handler: async ({ params, body, principal }) => {
      requireScope(principal, 'write_vens');
      return mutate(ctx, async (q, out) => {
        const prev = await ownVen(q, principal, params.venID!);
        const v = venBody(principal, body, prev);
        const o = (await updateObject(q, 'VEN', prev.id, v.body, { client_id: v.clientId, ven_name: body.venName, targets: v.targets }))!;
        await out.notify({ objectType: 'VEN', operation: 'UPDATE', object: o });
        return toWire(o);
      });
    },
  });

  route(api, {
    method: 'delete', path: '/vens/:venID', summary: 'deleteVen', auth,
    handler: async ({ params, principal }) => {
      requireScope(principal, 'write_vens');
      return mutate(ctx, async (q, out) => {
        const prev = await ownVen(q, principal, params.venID!);
        const o = (await deleteObject(q, 'VEN', prev.id))!;
        await out.notify({ objectType: 'VEN', operation: 'DELETE', object: o });
        return toWire(o);
      });
    },
  });

  route(api, {
    method: 'get', path: '/resources', summary: 'searchVenResources', auth,
    query: PageQuery.extend(TargetsQuery.shape).extend({ resourceName: Name128.optional(), venID: ObjectId.optional() }),
    handler: async ({ query, principal }) => {
      requireRead(principal, 'read_ven_objects');
      const targets = query.targets?.length ? { all: true as const, filter: query.targets } : undefined;
      const rows = await search(ctx.db, 'RESOURCE', { equals: { resource_name: query.resourceName, ven_id: query.venID }, ownerClientId: owner(principal), targets }, query);
      return rows.map((o) => toWire(o));
    },
  });

  function resourceCols(p: OpenadrPrincipal, body: ResourceRequest, ven: StoredObject, previous?: StoredObject) {
    if (body.objectType === 'BL_RESOURCE_REQUEST') {
      if (!isBl(p)) throw new Forbidden('a VEN creates and updates resources with VEN_RESOURCE_REQUEST (only BL sets clientID and targets)');
      return { body: storedBody(body), cols: { ven_id: ven.id, client_id: body.clientID, resource_name: body.resourceName, targets: body.targets ?? [] } };
    }
    const targets = previous?.targets ?? [];
    const clientId = ven.clientId!;
    return {
      body: { ...storedBody(body), clientID: clientId, targets: targets.length ? targets : null },
      cols: { ven_id: ven.id, client_id: clientId, resource_name: body.resourceName, targets },
    };
  }

  route(api, {
    method: 'post', path: '/resources', summary: 'createResource', auth, body: ResourceRequest, status: 201,
    handler: async ({ body, principal }) => {
      requireScope(principal, 'write_vens');
      return mutate(ctx, async (q, out) => {
        const ven = await ownVen(q, principal, body.venID, true);
        const r = resourceCols(principal, body, ven);
        const o = await insertObject(q, 'RESOURCE', newObjectId('resource'), r.body, r.cols);
        await out.notify({ objectType: 'RESOURCE', operation: 'CREATE', object: o, venId: ven.id });
        return toWire(o);
      });
    },
  });

  route(api, {
    method: 'get', path: '/resources/:resourceID', summary: 'searchVenResourceByID', auth,
    handler: async ({ params, principal }) => {
      requireRead(principal, 'read_ven_objects');
      return toWire(await ownResource(ctx.db, principal, parseOrThrow(ObjectId, params.resourceID, 'resourceID')));
    },
  });

  route(api, {
    method: 'put', path: '/resources/:resourceID', summary: 'updateVenResource', auth, body: ResourceRequest,
    handler: async ({ params, body, principal }) => {
      requireScope(principal, 'write_vens');
      return mutate(ctx, async (q, out) => {
        const prev = await ownResource(q, principal, params.resourceID!);
        const ven = await ownVen(q, principal, body.venID, true);
        const r = resourceCols(principal, body, ven, prev);
        const o = (await updateObject(q, 'RESOURCE', prev.id, r.body, r.cols))!;
        await out.notify({ objectType: 'RESOURCE', operation: 'UPDATE', object: o, venId: ven.id });
        return toWire(o);
      });
    },
  });

  route(api, {
    method: 'delete', path: '/resources/:resourceID', summary: 'deleteVenResource', auth,
    handler: async ({ params, principal }) => {
      requireScope(principal, 'write_vens');
      return mutate(ctx, async (q, out) => {
        const prev = await ownResource(q, principal, params.resourceID!);
        const o = (await deleteObject(q, 'RESOURCE', prev.id))!;
        await out.notify({ objectType: 'RESOURCE', operation: 'DELETE', object: o, venId: String(prev.body.venID) });
        return toWire(o);
      });
    },
  });
}
