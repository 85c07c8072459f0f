import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../store/db.ts';
import { getNode, listStationEvses } from '../store/topology-store.ts';
import { latestRun, setpointsOfRun } from '../store/allocation-store.ts';
import { recentOutbox } from '../store/outbox-store.ts';
import { audit } from '../store/audit-store.ts';
import { setStationPassword } from '../ocpp/station-credentials.ts';
import { clearStationFlag, complianceSummary, getStationFlag, setStationSecurityProfile, stationCapabilities, stationSecurityProfile } from '../ocpp/smart-store.ts';
import { Conflict, NotFound, Unavailable, Unprocessable } from '../http/errors.ts';
import { findSession } from '../ocpp/session-store.ts';
import { getStationState } from '../ocpp/station-store.ts';
import { requestPriorityCharging, type PriorityDeps } from '../ocpp/priority-charging-21.ts';
import { route, type ApiRouter, type Authenticator } from '../http/route.ts';
import type { AdminPrincipal } from '../http/admin-auth.ts';
import type { Csms } from '../ocpp/csms.ts';

export function stationRoutes(
  api: ApiRouter,
  deps: {
    db: Db; auth: Authenticator<AdminPrincipal>; csms: Pick<Csms, 'isConnected' | 'checkInstalledProfiles'>;
    /** OCPP 2.1 UsePriorityCharging: outbox kick, re-plan, call time-out. Without it the route answers 503. */
    priority?: Omit<PriorityDeps, 'db'>;
  },
): void {
  const { db, auth } = deps;

  async function station(idParam: string | undefined) {
    const n = idParam ? await getNode(db, idParam) : undefined;
    if (!n || n.kind !== 'station') throw new NotFound(`station ${idParam} does not exist`);
    return n;
  }

  route(api, {
    method: 'post', path: '/stations/:id/password',
    summary: 'Set the OCPP Basic-auth password of a station (security profile 1); without a body a random one is generated and returned once',
    auth,
    body: z.object({ password: z.string().min(16).max(40).optional() }).optional().default({}),
    status: 201,
    response: z.object({ stationId: z.string(), username: z.string(), password: z.string().optional() }),
    handler: async ({ params, body }) => {
      const s = await station(params.id);
      const generated = body.password === undefined;
      // OCPP security profile 1: passwords of 16..40 characters from the printable ASCII range
      const password = body.password ?? randomBytes(24).toString('base64url').slice(0, 32);
      if (!/^[\x21-\x7e]+$/.test(password)) throw new Unprocessable('password must be printable ASCII without spaces');
      await db.tx(async (q) => {
        await setStationPassword(q, s.id, password);
        await audit(q, 'admin', 'station.password', s.id);
      });
      return { stationId: s.id, username: s.id, ...(generated ? { password } : {}) };
    },
  });

  route(api, {
    method: 'get', path: '/stations/:id/schedule', summary: 'The station’s current setpoints and the profiles sent to it with their answers', auth,
    handler: async ({ params }) => {
      const s = await station(params.id);
      const evses = await listStationEvses(db, s.id);
      const run = await latestRun(db, s.gridAreaId, true);
      const setpoints = run ? await setpointsOfRun(db, run.id, evses.map((e) => e.id)) : [];
      const messages = await recentOutbox(db, { target: s.id, limit: 20 });
      return {
        stationId: s.id, connected: deps.csms.isConnected(s.id), runId: run?.id ?? null, setpoints,
        messages: messages.map((m) => ({ id: m.id, action: m.action, state: m.state, attempts: m.attempts, payload: m.payload, response: m.response, lastError: m.lastError, updatedAt: m.updatedAt })),
      };
    },
  });

  route(api, {
    method: 'get', path: '/stations/:id/compliance',
    summary: 'Closed-loop compliance of a station (GetCompositeSchedule read-backs and meter values against setpoints), its flag and capabilities',
    auth,
    query: z.object({ hours: z.coerce.number().positive().max(24 * 90).default(24) }),
    handler: async ({ params, query }) => {
      const s = await station(params.id);
      const since = Date.now() - query.hours * 3_600_000;
      return {
        stationId: s.id, sinceHours: query.hours,
        compliance: await complianceSummary(db, { stationId: s.id }, since),
        flag: (await getStationFlag(db, s.id)) ?? null,
        capabilities: await stationCapabilities(db, s.id),
        securityProfile: await stationSecurityProfile(db, s.id),
      };
    },
  });

  route(api, {
    method: 'get', path: '/stations/:id/foreign-profiles',
    summary: 'Ask a connected 2.0.1/2.1 station for its installed charging profiles (GetChargingProfiles) and list those gridflex did not install',
    auth,
    handler: async ({ params }) => {
      const s = await station(params.id);
      if (!deps.csms.isConnected(s.id)) throw new Unavailable(`station ${s.id} is not connected`);
      return { stationId: s.id, result: await deps.csms.checkInstalledProfiles(s.id) };
    },
  });

  route(api, {
    method: 'post', path: '/stations/:id/transactions/:txId/priority-charging',
    summary:
      'OCPP 2.1 UsePriorityCharging for a running transaction: sent through the outbox; 200 with the station’s answer (Accepted turns the session’s priority on/off and re-plans), 202 when it has not answered within the call time-out (the answer is kept on the outbox row)',
    auth,
    body: z.object({ activate: z.boolean() }),
    response: z.object({ stationId: z.string(), transactionId: z.string(), outboxId: z.number(), state: z.string(), answer: z.unknown().optional(), priority: z.boolean().optional() }),
    handler: async ({ params, body, res }) => {
      const s = await station(params.id);
      const state = await getStationState(db, s.id);
      // UsePriorityCharging exists in OCPP 2.1 only (K21).
      if (state?.ocppVersion !== '2.1') throw new Conflict(`station ${s.id} speaks OCPP ${state?.ocppVersion ?? '(never connected)'}; priority charging needs OCPP 2.1`);
      const txId = params.txId ?? '';
      const session = await findSession(db, s.id, txId);
      if (!session || session.stoppedMs !== null) throw new NotFound(`station ${s.id} has no running transaction ${txId}`);
      if (!deps.priority || !deps.csms.isConnected(s.id)) throw new Unavailable(`station ${s.id} is not connected`);
      const waitMs = deps.priority.config.OCPP_CALL_TIMEOUT_MS + 1_000;
      const r = await requestPriorityCharging({ db, ...deps.priority }, { stationId: s.id, gridAreaId: s.gridAreaId, sessionId: session.id, transactionId: txId, activate: body.activate, waitMs });
      const out = { stationId: s.id, transactionId: txId, ...r };
      if (r.answer === undefined && !['acked', 'rejected', 'failed'].includes(r.state)) {
        res.status(202).json(out);
        return undefined;
      }
      return out;
    },
  });

  route(api, {
    method: 'delete', path: '/stations/:id/flag', summary: 'Clear a station’s non-compliance flag (after the operator fixed it)', auth,
    handler: async ({ params }) => {
      const s = await station(params.id);
      await db.tx(async (q) => {
        await clearStationFlag(q, s.id);
        await audit(q, 'admin', 'station.flag.clear', s.id);
      });
      return undefined;
    },
  });

  route(api, {
    method: 'put', path: '/stations/:id/security-profile',
    summary: 'OCPP security profile of a station: 1 Basic auth, 2 TLS + Basic auth, 3 mutual TLS (client certificate CN = station id)',
    auth,
    body: z.object({ securityProfile: z.union([z.literal(1), z.literal(2), z.literal(3)]) }),
    handler: async ({ params, body }) => {
      const s = await station(params.id);
      await db.tx(async (q) => {
        await setStationSecurityProfile(q, s.id, body.securityProfile);
        await audit(q, 'admin', 'station.security_profile', s.id, body);
      });
      return undefined;
    },
  });

  route(api, {
    method: 'get', path: '/grid-areas/:id/compliance', summary: 'Closed-loop compliance of all stations of a grid area', auth,
    query: z.object({ hours: z.coerce.number().positive().max(24 * 90).default(24) }),
    handler: async ({ params, query }) => {
      const a = params.id ? await getNode(db, params.id) : undefined;
      if (!a || a.kind !== 'grid_area') throw new NotFound(`grid area ${params.id} does not exist`);
      return { gridAreaId: a.id, sinceHours: query.hours, compliance: await complianceSummary(db, { gridAreaId: a.id }, Date.now() - query.hours * 3_600_000) };
    },
  });

  route(api, {
    method: 'get', path: '/outbox', summary: 'Recent outbound messages and their delivery state', auth,
    query: z.object({ target: z.string().max(200).optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }),
    handler: async ({ query }) => ({ messages: await recentOutbox(db, { limit: query.limit, ...(query.target ? { target: query.target } : {}) }) }),
  });
}
