import { UpdateGroupCapacityForecast, forecastToBlocksKw } from '../../grid-adapters/oscp/index.ts';
import { Forbidden, NotFound } from '../http/errors.ts';
import { route, type ApiRouter } from '../http/route.ts';
import { audit } from '../store/audit-store.ts';
import { saveForecast } from '../store/forecast-store.ts';
import { nodeOfOscpGroup, oscpGroupOwner } from '../store/topology-store.ts';
import { acceptOnce } from './accept-once.ts';
import { authenticatePeer, type OscpPrincipal } from './oscp-auth.ts';
import type { OscpDeps } from './oscp-deps.ts';
import { requestIdOf } from './oscp-http.ts';

/**
 * OSCP 2.0 UpdateGroupCapacityForecast (Capacity Provider → Flexibility Provider): the capacity a
 * group may use, per block of time. Stored as one forecast version of the group's node, in kW.
 */
export function forecastRoutes(api: ApiRouter, deps: OscpDeps): void {
  const { db } = deps;
  route<UpdateGroupCapacityForecast, Record<string, never>, OscpPrincipal>(api, {
    method: 'post',
    path: '/update_group_capacity_forecast',
    summary: 'OSCP 2.0 UpdateGroupCapacityForecast',
    auth: (req) => authenticatePeer(db, req, { allowRegistration: false }),
    body: UpdateGroupCapacityForecast,
    status: 204,
    handler: async ({ body, principal, req, res }) => {
      const reqId = requestIdOf(req);
      const peerId = principal.peer.id;
      const log = deps.log.child({ reqId, peerId, oscpMessage: 'update_group_capacity_forecast' });
      const stored = await acceptOnce(db, peerId, reqId, async (q) => {
        // group_id names a group agreed out of band; gridflex maps it to a topology node (oscp_group).
        const node = await nodeOfOscpGroup(q, body.group_id);
        if (!node) throw new NotFound(`unknown group_id ${body.group_id}`);
        // A group reserved for one capacity provider takes forecasts from that peer only.
        const owner = await oscpGroupOwner(q, body.group_id);
        if (owner && owner !== peerId) throw new Forbidden(`group_id ${body.group_id} is assigned to another capacity provider`);
        const mapped = forecastToBlocksKw(body, node);
        const forecastId = await saveForecast(q, {
          nodeId: node.id,
          source: `oscp:${peerId}`,
          type: mapped.type,
          requestId: reqId,
          raw: req.body as unknown,
          blocks: mapped.blocks,
        });
        await audit(q, `oscp:${peerId}`, 'oscp.update_group_capacity_forecast', node.id, {
          forecastId,
          groupId: body.group_id,
          type: mapped.type,
          blocks: mapped.blocks.length,
          requestId: reqId,
        });
        return { forecastId, nodeId: node.id, gridAreaId: node.gridAreaId, type: mapped.type, blocks: mapped.blocks.length };
      });
      // Nothing is acknowledged before it is committed (ARCHITECTURE.md): the 204 goes out only now,
      // and only then is re-optimisation requested.
      res.status(204).end();
      log.info({ groupId: body.group_id, ...stored }, 'OSCP capacity forecast stored');
      try {
        deps.onForecast(stored.gridAreaId);
      } catch (err) {
        log.error({ err, gridAreaId: stored.gridAreaId }, 'onForecast failed (forecast is stored)');
      }
    },
  });
}
