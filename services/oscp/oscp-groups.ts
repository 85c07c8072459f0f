import type { Queryable } from '../store/db.ts';

/**
 * Which OSCP groups concern which peer, for the messages gridflex sends.
 * - As Flexibility Provider: the groups a Capacity Provider (DSO) gives limits to: the groups reserved
 *   for it (oscp_group.peer_id) and the unreserved groups it has sent forecasts for.
 * - As Capacity Provider: the groups agreed with each CPO (oscp_cpo_group), each on a node whose share
 *   of the grid capacity gridflex publishes.
 * Only peers we can call (registered, a token, not revoked) are returned.
 */
export interface PeerGroup {
  peerId: string;
  groupId: string;
  nodeId: string;
  gridAreaId: string;
}

const CALLABLE = `p.state NOT IN ('pending','revoked') AND p.outbound_token IS NOT NULL AND p.base_url IS NOT NULL AND NOT p.awaiting_register_back`;

export async function dsoGroups(q: Queryable, f: { gridAreaId?: string; peerId?: string } = {}): Promise<PeerGroup[]> {
  const rows = await q.query<{ peer_id: string; group_id: string; node_id: string; grid_area_id: string }>(
    `SELECT p.id AS peer_id, g.group_id, g.node_id, n.grid_area_id
     FROM oscp_group g JOIN topology_node n ON n.id = g.node_id
     JOIN oscp_peer p ON p.role = 'capacity_provider' AND ${CALLABLE}
       AND (g.peer_id = p.id OR (g.peer_id IS NULL AND EXISTS (SELECT 1 FROM forecast f WHERE f.node_id = g.node_id AND f.source = 'oscp:' || p.id)))
     WHERE ($1::text IS NULL OR n.grid_area_id = $1) AND ($2::text IS NULL OR p.id = $2)
     ORDER BY p.id, g.group_id`,
    [f.gridAreaId ?? null, f.peerId ?? null],
  );
  return rows.map((r) => ({ peerId: r.peer_id, groupId: r.group_id, nodeId: r.node_id, gridAreaId: r.grid_area_id }));
}

export async function cpoGroups(q: Queryable, f: { gridAreaId?: string; peerId?: string } = {}): Promise<(PeerGroup & { lastDigest: string | null })[]> {
  const rows = await q.query<{ peer_id: string; group_id: string; node_id: string; grid_area_id: string; last_digest: string | null }>(
    `SELECT p.id AS peer_id, g.group_id, g.node_id, n.grid_area_id, g.last_digest
     FROM oscp_cpo_group g JOIN topology_node n ON n.id = g.node_id
     JOIN oscp_peer p ON p.id = g.peer_id AND p.role = 'flexibility_provider' AND ${CALLABLE}
     WHERE ($1::text IS NULL OR n.grid_area_id = $1) AND ($2::text IS NULL OR p.id = $2)
     ORDER BY p.id, g.group_id`,
    [f.gridAreaId ?? null, f.peerId ?? null],
  );
  return rows.map((r) => ({ peerId: r.peer_id, groupId: r.group_id, nodeId: r.node_id, gridAreaId: r.grid_area_id, lastDigest: r.last_digest }));
}

/** Maps a CPO's group to a node (usually a `cpo` node): gridflex publishes that node's share to the CPO. */
export async function setOscpCpoGroup(q: Queryable, g: { peerId: string; groupId: string; nodeId: string }): Promise<void> {
  await q.query(
    `INSERT INTO oscp_cpo_group (peer_id, group_id, node_id) VALUES ($1, $2, $3)
     ON CONFLICT (peer_id, group_id) DO UPDATE SET node_id = EXCLUDED.node_id, last_digest = NULL`,
    [g.peerId, g.groupId, g.nodeId],
  );
}

export async function deleteOscpCpoGroup(q: Queryable, peerId: string, groupId: string): Promise<boolean> {
  const rows = await q.query('DELETE FROM oscp_cpo_group WHERE peer_id = $1 AND group_id = $2 RETURNING 1', [peerId, groupId]);
  return rows.length > 0;
}

export async function listOscpCpoGroups(q: Queryable, peerId?: string): Promise<{ peerId: string; groupId: string; nodeId: string }[]> {
  const rows = await q.query<{ peer_id: string; group_id: string; node_id: string }>(
    'SELECT peer_id, group_id, node_id FROM oscp_cpo_group WHERE ($1::text IS NULL OR peer_id = $1) ORDER BY peer_id, group_id',
    [peerId ?? null],
  );
  return rows.map((r) => ({ peerId: r.peer_id, groupId: r.group_id, nodeId: r.node_id }));
}

/** A CPO group of one peer with its node (for inbound CPO messages). */
export async function cpoGroupNode(q: Queryable, peerId: string, groupId: string): Promise<{ nodeId: string; gridAreaId: string } | undefined> {
  const rows = await q.query<{ node_id: string; grid_area_id: string }>(
    'SELECT g.node_id, n.grid_area_id FROM oscp_cpo_group g JOIN topology_node n ON n.id = g.node_id WHERE g.peer_id = $1 AND g.group_id = $2',
    [peerId, groupId],
  );
  return rows[0] ? { nodeId: rows[0].node_id, gridAreaId: rows[0].grid_area_id } : undefined;
}

/** The EVSE nodes under `nodeId` (itself included when it is one). */
export async function evsesUnder(q: Queryable, nodeId: string): Promise<string[]> {
  const rows = await q.query<{ id: string }>(
    `WITH RECURSIVE sub(id, kind) AS (
       SELECT id, kind FROM topology_node WHERE id = $1
       UNION ALL SELECT n.id, n.kind FROM topology_node n JOIN sub ON n.parent_id = sub.id)
     SELECT id FROM sub WHERE kind = 'evse' ORDER BY id`,
    [nodeId],
  );
  return rows.map((r) => r.id);
}

/**
 * Records that a report of `kind` for a group and period is queued; false when one was already (on
 * this or another instance), so each is sent once.
 */
export async function claimReport(q: Queryable, r: { peerId: string; groupId: string; kind: string; periodMs: number }): Promise<boolean> {
  const rows = await q.query(
    `INSERT INTO oscp_outbound_report (peer_id, group_id, kind, period_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1`,
    [r.peerId, r.groupId, r.kind, new Date(r.periodMs).toISOString()],
  );
  return rows.length > 0;
}
