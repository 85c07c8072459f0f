import { createHash } from 'node:crypto';
import { capacityForecastMessage, type UpdateGroupCapacityForecast } from '../../grid-adapters/oscp/index.ts';
import type { Allocation } from '../../optimizer/model.ts';
import type { Queryable } from '../store/db.ts';
import { enqueue } from '../store/outbox-store.ts';
import { cpoGroups } from './oscp-groups.ts';

/**
 * gridflex as OSCP 2.0 Capacity Provider toward CPOs: after each allocation of a grid area, every CPO
 * group of the area gets its node's share (Allocation.nodeTotalsKw: the sum of the caps of the EVSEs
 * under the node, per interval) as an UpdateGroupCapacityForecast of type CONSUMPTION, and a
 * FALLBACK_CONSUMPTION of the lowest share over the horizon, for the CPO to use when gridflex goes
 * offline. An unchanged share is not sent again; a newer one supersedes an undelivered older one.
 */
export async function publishCpoForecasts(q: Queryable, gridAreaId: string, allocation: Allocation): Promise<number> {
  const h = allocation.horizon;
  let queued = 0;
  for (const g of await cpoGroups(q, { gridAreaId })) {
    const share = allocation.nodeTotalsKw[g.nodeId];
    if (!share || share.length === 0) continue;
    const finite = share.filter((v) => Number.isFinite(v));
    const messages: UpdateGroupCapacityForecast[] = [];
    const normal = capacityForecastMessage(g.groupId, 'CONSUMPTION', h, share);
    if (normal) messages.push(normal);
    if (finite.length > 0) {
      const fallback = capacityForecastMessage(g.groupId, 'FALLBACK_CONSUMPTION', h, Array<number>(h.count).fill(Math.min(...finite)));
      if (fallback) messages.push(fallback);
    }
    if (messages.length === 0) continue;
    const digest = createHash('sha256').update(JSON.stringify(messages)).digest('hex');
    if (digest === g.lastDigest) continue;
    for (const m of messages) {
      await enqueue(q, { channel: 'oscp', target: g.peerId, action: 'update_group_capacity_forecast', payload: m, dedupeKey: `oscp:${g.peerId}:forecast:${g.groupId}:${m.type}` });
      queued++;
    }
    await q.query('UPDATE oscp_cpo_group SET last_digest = $3 WHERE peer_id = $1 AND group_id = $2', [g.peerId, g.groupId, digest]);
  }
  return queued;
}
