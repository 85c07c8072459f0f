import { EventRequest, ObjectId, ProgramRequest, expandEvent, validateEventTiming, type ValuesMap } from '../../grid-adapters/openadr3/index.ts';
import { BadRequest, NotFound } from '../http/errors.ts';
import { parseOrThrow, route } from '../http/route.ts';
import type { Queryable } from '../store/db.ts';
import { requireRead, requireScope } from './auth.ts';
import { deleteEventSignals, replaceEventSignals } from './signal-store.ts';
import { PageQuery, TargetsQuery, VTN_SOURCE, boolParam, mutate, storedBody, type VtnContext } from './vtn-context.ts';
import { deleteObject, getObject, insertObject, newObjectId, search, shownTargets, targetView, toWire, updateObject, type StoredObject } from './vtn-store.ts';

/**
 * /programs and /events. A program is bound to a topology node (a grid area or a node below it) by the
 * private attribute `GRIDFLEX_NODE` (Definitions, Extensibility, Private Strings): its events become DR
 * signals for that node (dr_signal), and the orchestrator re-optimizes the node's grid area.
 */
export const NODE_ATTRIBUTE = 'GRIDFLEX_NODE';

function nodeOf(attributes: ValuesMap[] | null | undefined): string | null {
  const a = attributes?.find((x) => x.type === NODE_ATTRIBUTE);
  if (!a) return null;
  const v = a.values[0];
  if (typeof v !== 'string' || a.values.length !== 1) throw new BadRequest(`attribute ${NODE_ATTRIBUTE} must hold one topology node id`);
  return v;
}

async function checkNode(q: Queryable, nodeId: string | null): Promise<void> {
  if (nodeId === null) return;
  const rows = await q.query('SELECT 1 FROM topology_node WHERE id = $1', [nodeId]);
  if (rows.length === 0) throw new BadRequest(`attribute ${NODE_ATTRIBUTE}: no topology node ${nodeId}`);
}

async function programBinding(q: Queryable, programId: string): Promise<{ nodeId: string; gridAreaId: string } | undefined> {
  const [r] = await q.query<{ node_id: string; grid_area_id: string }>(
    'SELECT p.node_id, n.grid_area_id FROM openadr_program p JOIN topology_node n ON n.id = p.node_id WHERE p.id = $1',
    [programId],
  );
  return r ? { nodeId: r.node_id, gridAreaId: r.grid_area_id } : undefined;
}

const FAR = Date.parse('9999-12-31T00:00:00Z');

function lifespanCols(e: EventRequest, nowMs: number): { starts_at: string | null; ends_at: string | null } {
  const t = expandEvent(e, { nowMs, maxIntervals: 1 });
  const iso = (ms: number | null) => (ms === null ? null : new Date(Math.min(Math.max(ms, -62_135_596_800_000), FAR)).toISOString());
  return { starts_at: iso(t.startMs), ends_at: iso(t.endMs === Infinity ? FAR : t.endMs) };
}

/** Recomputes an event's signals; reports the grid area when they changed. */
async function refreshSignals(ctx: VtnContext, q: Queryable, ev: StoredObject, changed: (a: string) => void): Promise<void> {
  const removedFrom = await deleteEventSignals(q, VTN_SOURCE, ev.id);
  removedFrom.forEach(changed);
  const b = await programBinding(q, String(ev.body.programID));
  if (!b) return;
  const r = await replaceEventSignals(q, {
    source: VTN_SOURCE,
    eventId: ev.id,
    nodeId: b.nodeId,
    gridAreaId: b.gridAreaId,
    event: ev.body as EventRequest,
    nowMs: ev.modifiedAt,
    untilMs: ctx.now() + ctx.config.OPENADR_SIGNAL_HORIZON_DAYS * 86_400_000,
  });
  if (r.skipped.length > 0) ctx.log.warn({ eventId: ev.id, skipped: r.skipped }, 'OpenADR event payloads not mapped to signals');
  if (r.count > 0 || removedFrom.length > 0) changed(b.gridAreaId);
}

const EventsQuery = PageQuery.extend(TargetsQuery.shape).extend({ programID: ObjectId.optional(), active: boolParam.optional() });

export function registerProgramRoutes(ctx: VtnContext): void {
  const { api, auth } = ctx;

  route(api, {
    method: 'get', path: '/programs', summary: 'searchAllPrograms', auth,
    query: PageQuery.extend(TargetsQuery.shape),
    handler: async ({ query, principal }) => {
      requireRead(principal, 'read_targets');
      const view = await targetView(ctx.db, principal, query.targets);
      const rows = await search(ctx.db, 'PROGRAM', { targets: view }, query);
      return rows.map((o) => toWire(o, shownTargets(view, o.targets)));
    },
  });

  route(api, {
    method: 'post', path: '/programs', summary: 'createProgram', auth, body: ProgramRequest, status: 201,
    handler: async ({ body, principal }) => {
      requireScope(principal, 'write_programs');
      const nodeId = nodeOf(body.attributes);
      return mutate(ctx, async (q, out) => {
        await checkNode(q, nodeId);
        const o = await insertObject(q, 'PROGRAM', newObjectId('program'), storedBody(body), {
          program_name: body.programName, node_id: nodeId, targets: body.targets ?? [],
        });
        await out.notify({ objectType: 'PROGRAM', operation: 'CREATE', object: o });
        return toWire(o);
      });
    },
  });

  route(api, {
    method: 'get', path: '/programs/:programID', summary: 'searchProgramByProgramId', auth, query: TargetsQuery,
    handler: async ({ params, query, principal }) => {
      requireRead(principal, 'read_targets');
      const id = parseOrThrow(ObjectId, params.programID, 'programID');
      const view = await targetView(ctx.db, principal, query.targets);
      const [o] = await search(ctx.db, 'PROGRAM', { equals: { id }, targets: view }, { skip: 0, limit: 1 });
      if (!o) throw new NotFound(`program ${id} not found`);
      return toWire(o, shownTargets(view, o.targets));
    },
  });

  route(api, {
    method: 'put', path: '/programs/:programID', summary: 'updateProgram', auth, body: ProgramRequest,
    handler: async ({ params, body, principal }) => {
      requireScope(principal, 'write_programs');
      const nodeId = nodeOf(body.attributes);
      return mutate(ctx, async (q, out) => {
        await checkNode(q, nodeId);
        const o = await updateObject(q, 'PROGRAM', params.programID!, storedBody(body), { program_name: body.programName, node_id: nodeId, targets: body.targets ?? [] });
        if (!o) throw new NotFound(`program ${params.programID} not found`);
        // A new binding moves every event's signals.
        for (const ev of await search(q, 'EVENT', { equals: { program_id: o.id } }, { skip: 0, limit: 100_000 })) await refreshSignals(ctx, q, ev, out.signalsChanged);
        await out.notify({ objectType: 'PROGRAM', operation: 'UPDATE', object: o });
        return toWire(o);
      });
    },
  });

  route(api, {
    method: 'delete', path: '/programs/:programID', summary: 'deleteProgram', auth,
    handler: async ({ params, principal }) => {
      requireScope(principal, 'write_programs');
      return mutate(ctx, async (q, out) => {
        const events = await search(q, 'EVENT', { equals: { program_id: params.programID! } }, { skip: 0, limit: 100_000 });
        for (const ev of events) (await deleteEventSignals(q, VTN_SOURCE, ev.id)).forEach(out.signalsChanged);
        const o = await deleteObject(q, 'PROGRAM', params.programID!);
        if (!o) throw new NotFound(`program ${params.programID} not found`);
        for (const ev of events) await out.notify({ objectType: 'EVENT', operation: 'DELETE', object: ev });
        await out.notify({ objectType: 'PROGRAM', operation: 'DELETE', object: o });
        return toWire(o);
      });
    },
  });

  route(api, {
    method: 'get', path: '/events', summary: 'searchAllEvents', auth, query: EventsQuery,
    handler: async ({ query, principal }) => {
      requireRead(principal, 'read_targets');
      const view = await targetView(ctx.db, principal, query.targets);
      const nowIso = new Date(ctx.now()).toISOString();
      const rows = await search(
        ctx.db, 'EVENT',
        {
          equals: { program_id: query.programID },
          targets: view,
          // User Guide 7.3: an event whose intervals have all transpired is inactive.
          extra: query.active ? (p) => (p.push(nowIso), `(ends_at IS NULL OR ends_at > $${p.length})`) : undefined,
        },
        query,
      );
      return rows.map((o) => toWire(o, shownTargets(view, o.targets)));
    },
  });

  function checkTiming(body: EventRequest): void {
    const problems = validateEventTiming(body);
    if (problems.length > 0) throw new BadRequest(`invalid event timing: ${problems.join('; ')}`, problems.map((message) => ({ path: 'body', message })));
  }

  route(api, {
    method: 'post', path: '/events', summary: 'createEvent', auth, body: EventRequest, status: 201,
    handler: async ({ body, principal }) => {
      requireScope(principal, 'write_events');
      checkTiming(body);
      return mutate(ctx, async (q, out) => {
        if (!(await getObject(q, 'PROGRAM', body.programID))) throw new BadRequest(`programID: no program ${body.programID}`);
        const o = await insertObject(q, 'EVENT', newObjectId('event'), storedBody(body), {
          program_id: body.programID, targets: body.targets ?? [], ...lifespanCols(body, ctx.now()),
        });
        await refreshSignals(ctx, q, o, out.signalsChanged);
        await out.notify({ objectType: 'EVENT', operation: 'CREATE', object: o });
        return toWire(o);
      });
    },
  });

  route(api, {
    method: 'get', path: '/events/:eventID', summary: 'searchEventsByID', auth, query: TargetsQuery,
    handler: async ({ params, query, principal }) => {
      requireRead(principal, 'read_targets');
      const id = parseOrThrow(ObjectId, params.eventID, 'eventID');
      const view = await targetView(ctx.db, principal, query.targets);
      const [o] = await search(ctx.db, 'EVENT', { equals: { id }, targets: view }, { skip: 0, limit: 1 });
      if (!o) throw new NotFound(`event ${id} not found`);
      return toWire(o, shownTargets(view, o.targets));
    },
  });

  route(api, {
    method: 'put', path: '/events/:eventID', summary: 'updateEvent', auth, body: EventRequest,
    handler: async ({ params, body, principal }) => {
      requireScope(principal, 'write_events');
      checkTiming(body);
      return mutate(ctx, async (q, out) => {
        if (!(await getObject(q, 'PROGRAM', body.programID))) throw new BadRequest(`programID: no program ${body.programID}`);
        const o = await updateObject(q, 'EVENT', params.eventID!, storedBody(body), {
          program_id: body.programID, targets: body.targets ?? [], ...lifespanCols(body, ctx.now()),
        });
        if (!o) throw new NotFound(`event ${params.eventID} not found`);
        await refreshSignals(ctx, q, o, out.signalsChanged);
        await out.notify({ objectType: 'EVENT', operation: 'UPDATE', object: o });
        return toWire(o);
      });
    },
  });

  route(api, {
    method: 'delete', path: '/events/:eventID', summary: 'deleteEvent', auth,
    handler: async ({ params, principal }) => {
      requireScope(principal, 'write_events');
      return mutate(ctx, async (q, out) => {
        const o = await deleteObject(q, 'EVENT', params.eventID!);
        if (!o) throw new NotFound(`event ${params.eventID} not found`);
        (await deleteEventSignals(q, VTN_SOURCE, o.id)).forEach(out.signalsChanged);
        await out.notify({ objectType: 'EVENT', operation: 'DELETE', object: o });
        return toWire(o);
      });
    },
  });
}
