import express, { type Router } from 'express';
import { z } from 'zod';
import {
  AdjustGroupCapacityForecast,
  GroupCapacityComplianceError,
  UpdateAssetMeasurements,
  UpdateGroupMeasurements,
  forecastToBlocksKw,
} from '../../grid-adapters/oscp/index.ts';
import { BadRequest, NotFound } from '../http/errors.ts';
import { route, type ApiRouter } from '../http/route.ts';
import { audit } from '../store/audit-store.ts';
import { getNode } from '../store/topology-store.ts';
import { acceptOnce } from './accept-once.ts';
import { authenticatePeer, type OscpPrincipal } from './oscp-auth.ts';
import { CP_BASE_PATH, type OscpCpDeps } from './oscp-deps.ts';
import { CP_ENDPOINTS, correlation, knownEndpoint, oscpErrorHandler, oscpJson, requestIdOf, requireRequestId } from './oscp-http.ts';
import { cpoGroupNode } from './oscp-groups.ts';
import { sessionRoutes } from './session-routes.ts';

type NoQuery = Record<string, never>;

/**
 * The OSCP 2.0 Capacity Provider endpoints: gridflex toward CPO backends (Flexibility Providers),
 * mounted at CP_BASE_PATH (`/oscp/cp/2.0`). Same conventions and order as the FP router
 * (fp-routes.ts); only peers of role flexibility_provider may call them.
 * Received (besides the session messages): AdjustGroupCapacityForecast, GroupCapacityComplianceError,
 * UpdateGroupMeasurements, UpdateAssetMeasurements. Each is checked against the group the CPO was
 * given (oscp_cpo_group; unknown → 404), stored with its raw body (oscp_inbound_report) and audited in
 * one transaction with its X-Request-ID, and answered 204; then `onReport` is called.
 */
export function createOscpCpRouter(deps: OscpCpDeps): Router {
  const router = express.Router();
  router.use(correlation(deps.metrics));
  router.use(knownEndpoint(CP_ENDPOINTS));
  router.use(oscpJson(deps.config.MAX_BODY_BYTES));
  router.use(requireRequestId());
  const api: ApiRouter = { router, basePath: CP_BASE_PATH };
  sessionRoutes(api, deps, { peerRole: 'flexibility_provider' });
  reportRoutes(api, deps);
  router.use(oscpErrorHandler(deps.log));
  return router;
}

interface Report {
  /** Absent only in GroupCapacityComplianceError, whose schema has no group_id (see below). */
  group_id?: string | undefined;
}

function reportRoutes(api: ApiRouter, deps: OscpCpDeps): void {
  const { db } = deps;

  function declare<B extends Report>(
    message: 'adjust_group_capacity_forecast' | 'group_capacity_compliance_error' | 'update_group_measurements' | 'update_asset_measurements',
    schema: z.ZodType<B>,
    summary: string,
    check?: (body: B, node: { voltageV: number | null; phases: number | null }) => Record<string, unknown>,
  ): void {
    route<B, NoQuery, OscpPrincipal>(api, {
      method: 'post',
      path: `/${message}`,
      summary,
      auth: (req) => authenticatePeer(db, req, { allowRegistration: false, role: 'flexibility_provider' }),
      body: schema,
      status: 204,
      handler: async ({ body, principal, req, res }) => {
        const reqId = requestIdOf(req);
        const peerId = principal.peer.id;
        const stored = await acceptOnce(db, peerId, reqId, async (q) => {
          const group = body.group_id === undefined ? null : await cpoGroupNode(q, peerId, body.group_id);
          if (body.group_id !== undefined && !group) throw new NotFound(`unknown group_id ${body.group_id}`);
          const node = group ? await getNode(q, group.nodeId) : undefined;
          const detail = check ? check(body, { voltageV: node?.voltageV ?? null, phases: node?.phases ?? null }) : {};
          await q.query(
            'INSERT INTO oscp_inbound_report (peer_id, message, group_id, node_id, request_id, body) VALUES ($1, $2, $3, $4, $5, $6)',
            [peerId, message, body.group_id ?? null, group?.nodeId ?? null, reqId, JSON.stringify(req.body)],
          );
          await audit(q, `oscp:${peerId}`, `oscp.${message}`, group?.nodeId ?? peerId, { groupId: body.group_id ?? null, requestId: reqId, ...detail });
          return group;
        });
        res.status(204).end();
        const log = deps.log.child({ reqId, peerId, oscpMessage: message });
        if (message === 'group_capacity_compliance_error') log.warn({ groupId: body.group_id, nodeId: stored?.nodeId }, 'OSCP compliance error from a CPO');
        else log.info({ groupId: body.group_id, nodeId: stored?.nodeId }, 'OSCP CPO message stored');
        if (!stored) return;
        try {
          deps.onReport?.(stored.gridAreaId, message);
        } catch (err) {
          log.error({ err, gridAreaId: stored.gridAreaId }, 'onReport failed (message is stored)');
        }
      },
    });
  }

  // OSCP 2.0 AdjustGroupCapacityForecast (FP → CP): the CPO asks for other capacity. The blocks must
  // make sense as a forecast (end after start, no overlap, a power unit): the same rules as ours.
  declare('adjust_group_capacity_forecast', AdjustGroupCapacityForecast, 'OSCP 2.0 AdjustGroupCapacityForecast (from a CPO)', (body, node) => {
    const mapped = forecastToBlocksKw(body, node);
    return { type: mapped.type, requestedKw: mapped.blocks.map((b) => ({ start: new Date(b.startMs).toISOString(), end: new Date(b.endMs).toISOString(), kw: b.kw })) };
  });
  // OSCP 2.0 GroupCapacityComplianceError (FP → CP): the CPO cannot keep to the share we published.
  // The official schema has no group_id; gridflex accepts one as an extension (and sends one), and
  // stores a message without it against the peer only.
  declare('group_capacity_compliance_error', GroupCapacityComplianceError.extend({ group_id: z.string().optional() }), 'OSCP 2.0 GroupCapacityComplianceError (from a CPO)', (body) => {
    if (body.forecasted_blocks) forecastToBlocksKw({ group_id: body.group_id ?? '', type: 'CONSUMPTION', forecasted_blocks: body.forecasted_blocks }, {});
    return { message: body.message };
  });
  declare('update_group_measurements', UpdateGroupMeasurements, 'OSCP 2.0 UpdateGroupMeasurements (from a CPO)', (body) => ({ measurements: body.measurements.length }));
  declare('update_asset_measurements', UpdateAssetMeasurements, 'OSCP 2.0 UpdateAssetMeasurements (from a CPO)', (body) => {
    for (const [i, m] of body.measurements.entries()) {
      if (!m.energy_measurement && !m.instantaneous_measurement) throw new BadRequest(`measurements[${i}] has neither energy_measurement nor instantaneous_measurement`);
    }
    return { measurements: body.measurements.length };
  });
}
