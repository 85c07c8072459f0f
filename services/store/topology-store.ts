import type { NodeKind, TopologyNode } from '../../optimizer/model.ts';
import type { Db, Queryable } from './db.ts';
import { numOrUndef } from './rows.ts';

export interface StoredNode extends TopologyNode {
  gridAreaId: string;
  name: string | null;
  ocppEvseId: number | null;
  voltageV: number | null;
  phases: number | null;
  /** CPO only: its class for the 'priority' sharing policy (higher first); null = none given. */
  sharingClass: number | null;
}

interface NodeRow {
  id: string;
  kind: NodeKind;
  parent_id: string | null;
  grid_area_id: string;
  name: string | null;
  import_limit_kw: number | null;
  export_limit_kw: number | null;
  max_power_kw: number | null;
  min_power_kw: number | null;
  ocpp_evse_id: number | null;
  voltage_v: number | null;
  phases: number | null;
  sharing_class: number | null;
  import_limit_a: number | null;
  export_limit_a: number | null;
  phase: 'L1' | 'L2' | 'L3' | null;
}

const COLS = 'id, kind, parent_id, grid_area_id, name, import_limit_kw, export_limit_kw, max_power_kw, min_power_kw, ocpp_evse_id, voltage_v, phases, sharing_class, import_limit_a, export_limit_a, phase';

function fromRow(r: NodeRow): StoredNode {
  return {
    id: r.id,
    kind: r.kind,
    parentId: r.parent_id,
    gridAreaId: r.grid_area_id,
    name: r.name,
    importLimitKw: numOrUndef(r.import_limit_kw),
    exportLimitKw: numOrUndef(r.export_limit_kw),
    maxPowerKw: numOrUndef(r.max_power_kw),
    minPowerKw: numOrUndef(r.min_power_kw),
    ocppEvseId: r.ocpp_evse_id,
    voltageV: r.voltage_v,
    phases: r.phases,
    sharingClass: r.sharing_class,
    // Per-phase limits (migration 012); voltage and phases are the columns above (phaseVoltageV/phaseCount for the optimizer).
    ...(r.import_limit_a !== null && r.import_limit_a !== undefined ? { importLimitA: Number(r.import_limit_a) } : {}),
    ...(r.export_limit_a !== null && r.export_limit_a !== undefined ? { exportLimitA: Number(r.export_limit_a) } : {}),
    ...(r.phase ? { phase: r.phase } : {}),
  };
}

export interface NodeInput {
  id: string;
  kind: NodeKind;
  parentId: string | null;
  name?: string | null;
  importLimitKw?: number | null;
  exportLimitKw?: number | null;
  maxPowerKw?: number | null;
  minPowerKw?: number | null;
  ocppEvseId?: number | null;
  voltageV?: number | null;
  phases?: number | null;
  sharingClass?: number | null;
  importLimitA?: number | null;
  exportLimitA?: number | null;
  phase?: 'L1' | 'L2' | 'L3' | null;
}

/** Which kinds may sit under which: the tree only goes down; levels may be skipped. */
const DEPTH: Record<NodeKind, number> = { grid_area: 0, connection_point: 1, cpo: 2, site: 3, station: 4, evse: 5 };

export function canBeChildOf(child: NodeKind, parent: NodeKind): boolean {
  if (child === 'evse') return parent === 'station';
  if (child === 'station') return parent !== 'evse' && parent !== 'station';
  return DEPTH[child] > DEPTH[parent];
}

/**
 * Inserts or updates nodes in one transaction. Parents must come before children (or exist already).
 * Returns the number of nodes written. Throws an Error with `code` 'TOPOLOGY' on a structural problem.
 */
export async function upsertNodes(q: Queryable, nodes: NodeInput[]): Promise<number> {
  const known = new Map<string, { kind: NodeKind; gridAreaId: string }>();
  for (const n of nodes) {
    let gridAreaId: string;
    if (n.kind === 'grid_area') {
      if (n.parentId !== null) throw topologyError(`grid area ${n.id} cannot have a parent`);
      gridAreaId = n.id;
    } else {
      if (!n.parentId) throw topologyError(`${n.kind} ${n.id} needs a parent`);
      const parent = known.get(n.parentId) ?? (await getNodeKind(q, n.parentId));
      if (!parent) throw topologyError(`${n.kind} ${n.id}: parent ${n.parentId} does not exist`);
      if (!canBeChildOf(n.kind, parent.kind)) throw topologyError(`${n.kind} ${n.id} cannot be under ${parent.kind} ${n.parentId}`);
      gridAreaId = parent.gridAreaId;
    }
    if (n.sharingClass !== undefined && n.sharingClass !== null && n.kind !== 'cpo') throw topologyError(`${n.kind} ${n.id}: only a CPO node has a sharing class`);
    const existing = await getNodeKind(q, n.id);
    if (existing && existing.kind !== n.kind) throw topologyError(`node ${n.id} exists as ${existing.kind}, not ${n.kind}`);
    await q.query(
      `INSERT INTO topology_node (id, kind, parent_id, grid_area_id, name, import_limit_kw, export_limit_kw, max_power_kw, min_power_kw, ocpp_evse_id, voltage_v, phases, sharing_class, import_limit_a, export_limit_a, phase)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)
       ON CONFLICT (id) DO UPDATE SET parent_id = EXCLUDED.parent_id, grid_area_id = EXCLUDED.grid_area_id, name = EXCLUDED.name,
         import_limit_kw = EXCLUDED.import_limit_kw, export_limit_kw = EXCLUDED.export_limit_kw, max_power_kw = EXCLUDED.max_power_kw,
         min_power_kw = EXCLUDED.min_power_kw, ocpp_evse_id = EXCLUDED.ocpp_evse_id, voltage_v = EXCLUDED.voltage_v, phases = EXCLUDED.phases,
         sharing_class = EXCLUDED.sharing_class, import_limit_a = EXCLUDED.import_limit_a, export_limit_a = EXCLUDED.export_limit_a, phase = EXCLUDED.phase,
         updated_at = now()`,
      [n.id, n.kind, n.parentId, gridAreaId, n.name ?? null, n.importLimitKw ?? null, n.exportLimitKw ?? null, n.maxPowerKw ?? null, n.minPowerKw ?? null, n.ocppEvseId ?? null, n.voltageV ?? null, n.phases ?? null, n.sharingClass ?? null, n.importLimitA ?? null, n.exportLimitA ?? null, n.phase ?? null],
    );
    known.set(n.id, { kind: n.kind, gridAreaId });
  }
  return nodes.length;
}

function topologyError(message: string): Error {
  return Object.assign(new Error(message), { code: 'TOPOLOGY' });
}

async function getNodeKind(q: Queryable, id: string): Promise<{ kind: NodeKind; gridAreaId: string } | undefined> {
  const rows = await q.query<{ kind: NodeKind; grid_area_id: string }>('SELECT kind, grid_area_id FROM topology_node WHERE id = $1', [id]);
  const r = rows[0];
  return r ? { kind: r.kind, gridAreaId: r.grid_area_id } : undefined;
}

export async function getNode(q: Queryable, id: string): Promise<StoredNode | undefined> {
  const rows = await q.query<NodeRow>(`SELECT ${COLS} FROM topology_node WHERE id = $1`, [id]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function listAreaNodes(q: Queryable, gridAreaId: string): Promise<StoredNode[]> {
  const rows = await q.query<NodeRow>(`SELECT ${COLS} FROM topology_node WHERE grid_area_id = $1 ORDER BY id`, [gridAreaId]);
  return rows.map(fromRow);
}

/**
 * The CPO node ids of a grid area in the order they were created (then by id, for nodes created in one
 * import): the order they asked for capacity, for SHARING_POLICY=fcfs. Updating a node keeps its place.
 */
export async function listCposByCreation(q: Queryable, gridAreaId: string): Promise<string[]> {
  const rows = await q.query<{ id: string }>(`SELECT id FROM topology_node WHERE grid_area_id = $1 AND kind = 'cpo' ORDER BY created_at, id`, [gridAreaId]);
  return rows.map((r) => r.id);
}

export async function listGridAreas(q: Queryable): Promise<StoredNode[]> {
  const rows = await q.query<NodeRow>(`SELECT ${COLS} FROM topology_node WHERE kind = 'grid_area' ORDER BY id`);
  return rows.map(fromRow);
}

export async function listStationEvses(q: Queryable, stationId: string): Promise<StoredNode[]> {
  const rows = await q.query<NodeRow>(`SELECT ${COLS} FROM topology_node WHERE parent_id = $1 AND kind = 'evse' ORDER BY ocpp_evse_id NULLS LAST, id`, [stationId]);
  return rows.map(fromRow);
}

export async function deleteNode(db: Db, id: string): Promise<boolean> {
  const rows = await db.query('DELETE FROM topology_node WHERE id = $1 RETURNING id', [id]);
  return rows.length > 0;
}

/** Maps an OSCP group to a node; `peerId` (optional) reserves the group for one capacity provider. */
export async function setOscpGroup(q: Queryable, groupId: string, nodeId: string, peerId: string | null = null): Promise<void> {
  await q.query(
    `INSERT INTO oscp_group (group_id, node_id, peer_id) VALUES ($1, $2, $3)
     ON CONFLICT (group_id) DO UPDATE SET node_id = EXCLUDED.node_id, peer_id = EXCLUDED.peer_id`,
    [groupId, nodeId, peerId],
  );
}

/** The peer a group is reserved for: a peer id, null (any registered peer), undefined (no such group). */
export async function oscpGroupOwner(q: Queryable, groupId: string): Promise<string | null | undefined> {
  const rows = await q.query<{ peer_id: string | null }>('SELECT peer_id FROM oscp_group WHERE group_id = $1', [groupId]);
  return rows[0] ? rows[0].peer_id : undefined;
}

export async function nodeOfOscpGroup(q: Queryable, groupId: string): Promise<StoredNode | undefined> {
  const rows = await q.query<NodeRow>(
    `SELECT ${COLS.split(', ').map((c) => 'n.' + c).join(', ')} FROM oscp_group g JOIN topology_node n ON n.id = g.node_id WHERE g.group_id = $1`,
    [groupId],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function listOscpGroups(q: Queryable): Promise<{ groupId: string; nodeId: string; peerId: string | null }[]> {
  const rows = await q.query<{ group_id: string; node_id: string; peer_id: string | null }>('SELECT group_id, node_id, peer_id FROM oscp_group ORDER BY group_id');
  return rows.map((r) => ({ groupId: r.group_id, nodeId: r.node_id, peerId: r.peer_id }));
}
