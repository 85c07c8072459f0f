import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../store/db.ts';
import { getNode, listStationEvses } from '../store/topology-store.ts';
import { latestRun, setpointsOfRun } from '../store/allocation-store.ts';
import { recentOutbox } from '../store/outbox-store.ts';
import { audit } from '../store/audit-store.ts';
import { setStationPassword } from '../ocpp/station-credentials.ts';
import { clearStationFlag, complianceSummary, getStationFlag, setStationSecurityProfile, stationCapabilities, stationSecurityProfile } from '../ocpp/smart-store.ts';
import { NotFound, Unavailable, Unprocessable } from '../http/errors.ts';
import { route, type ApiRouter, type Authenticator } from '../http/route.ts';
import type { AdminPrincipal } from '../http/admin-auth.ts';
import type { Csms } from '../ocpp/csms.ts';

export function stationRoutes(api: ApiRouter, deps: { db: Db; auth: Authenticator<AdminPrincipal>; csms: Pick<Csms, 'isConnected' | 'checkInstalledProfiles'> }): void {
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
