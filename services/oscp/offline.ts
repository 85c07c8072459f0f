import { Gauge, type Registry } from 'prom-client';
import type { CapacityEnvelope, Horizon } from '../../optimizer/model.ts';
import { intervalStartMs } from '../../optimizer/model.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { audit } from '../store/audit-store.ts';
import type { Db, Queryable } from '../store/db.ts';
import { loadEnvelopes } from '../store/forecast-store.ts';
import { iso, toMs } from '../store/rows.ts';

/**
 * OSCP 2.0 offline mode (Heartbeat: offline_mode_at). A peer whose offline_mode_at has passed without
 * a newer Heartbeat is offline. While a Capacity Provider (a DSO) is offline, its groups' FALLBACK
 * forecasts replace its normal ones from the first interval that starts at or after the moment it went
 * offline; where no FALLBACK forecast covers an interval, the configured safe limit
 * (OSCP_OFFLINE_SAFE_IMPORT_KW / _EXPORT_KW) applies, and without one the last normal forecast stays.
 * Its next Heartbeat ends offline mode at once.
 *
 * "Its groups" are the nodes of the OSCP groups reserved for the peer and every node the peer has sent
 * forecasts for. An offline Flexibility Provider (a CPO) is flagged and shown, with no effect on limits.
 */

const gauges = new WeakMap<Registry, Gauge<'peer_id' | 'role'>>();

/** `gridflex_oscp_peer_online{peer_id, role}`: 1 online, 0 in offline mode; registered on first use. */
export function peerOnlineGauge(metrics: Pick<Metrics, 'registry'>): Gauge<'peer_id' | 'role'> {
  let g = gauges.get(metrics.registry);
  if (!g) {
    g = new Gauge({
      name: 'gridflex_oscp_peer_online',
      help: 'OSCP peers: 1 online, 0 in offline mode (offline_mode_at passed without a heartbeat)',
      labelNames: ['peer_id', 'role'] as const,
      registers: [metrics.registry],
    });
    gauges.set(metrics.registry, g);
  }
  return g;
}

/** The grid areas of the nodes a Capacity Provider peer gives limits to (see the header). */
export async function gridAreasOfPeers(q: Queryable, peerIds: string[]): Promise<string[]> {
  if (peerIds.length === 0) return [];
  const rows = await q.query<{ grid_area_id: string }>(
    `SELECT DISTINCT n.grid_area_id FROM topology_node n
     WHERE n.id IN (SELECT node_id FROM oscp_group WHERE peer_id = ANY($1::text[])
                    UNION SELECT node_id FROM forecast WHERE source = ANY($2::text[]))
     ORDER BY 1`,
    [peerIds, peerIds.map((p) => `oscp:${p}`)],
  );
  return rows.map((r) => r.grid_area_id);
}

export interface OfflineCheck {
  /** Grid areas whose limits changed (a DSO went offline or came back): re-allocate them. */
  gridAreaIds: string[];
  wentOffline: string[];
  cameBack: string[];
}

/**
 * Flips peers into offline mode whose offline_mode_at is at or before `nowMs`, and back when a newer
 * Heartbeat moved it past `nowMs`. Each flip is logged and audited ('oscp.peer.offline' /
 * 'oscp.peer.online'). The scheduler calls this every 10 s, possibly on several instances: the
 * conditional UPDATEs make a flip happen once. Also refreshes the online gauge when `metrics` is given.
 */
export async function checkOfflinePeers(db: Db, nowMs: number, opts: { log?: Logger; metrics?: Pick<Metrics, 'registry'> } = {}): Promise<OfflineCheck> {
  const now = iso(nowMs);
  const out = await db.tx(async (q) => {
    const off = await q.query<{ id: string; role: string; offline_since: unknown }>(
      `UPDATE oscp_peer SET offline = true, offline_since = offline_mode_at, updated_at = now()
       WHERE NOT offline AND state <> 'revoked' AND offline_mode_at IS NOT NULL AND offline_mode_at <= $1
       RETURNING id, role, offline_since`,
      [now],
    );
    const on = await q.query<{ id: string; role: string }>(
      `UPDATE oscp_peer SET offline = false, offline_since = NULL, updated_at = now()
       WHERE offline AND (state = 'revoked' OR offline_mode_at IS NULL OR offline_mode_at > $1)
       RETURNING id, role`,
      [now],
    );
    for (const p of off) await audit(q, 'gridflex', 'oscp.peer.offline', p.id, { role: p.role, offlineSince: iso(toMs(p.offline_since)) });
    for (const p of on) await audit(q, 'gridflex', 'oscp.peer.online', p.id, { role: p.role, reason: 'offline_mode_at moved on' });
    const cps = [...off, ...on].filter((p) => p.role === 'capacity_provider').map((p) => p.id);
    return { gridAreaIds: await gridAreasOfPeers(q, cps), wentOffline: off.map((p) => p.id), cameBack: on.map((p) => p.id) };
  });
  for (const id of out.wentOffline) opts.log?.warn({ peerId: id }, 'OSCP peer offline: FALLBACK forecasts apply from the next interval');
  for (const id of out.cameBack) opts.log?.info({ peerId: id }, 'OSCP peer back online');
  if (opts.metrics) await refreshPeerGauge(db, opts.metrics);
  return out;
}

/** Sets the online gauge for every non-revoked peer (revoked peers' series are removed). */
export async function refreshPeerGauge(q: Queryable, metrics: Pick<Metrics, 'registry'>): Promise<void> {
  const g = peerOnlineGauge(metrics);
  const rows = await q.query<{ id: string; role: string; offline: boolean; state: string }>('SELECT id, role, offline, state FROM oscp_peer');
  for (const r of rows) {
    if (r.state === 'revoked') g.remove({ peer_id: r.id, role: r.role });
    else g.set({ peer_id: r.id, role: r.role }, r.offline ? 0 : 1);
  }
}

/**
 * Ends offline mode for one peer whose Heartbeat just arrived (inside the Heartbeat's transaction).
 * Returns the grid areas to re-allocate, or null when the peer was not offline.
 */
export async function markOnline(q: Queryable, peerId: string, nowMs: number): Promise<{ gridAreaIds: string[] } | null> {
  const rows = await q.query<{ role: string }>(
    `UPDATE oscp_peer SET offline = false, offline_since = NULL, updated_at = now()
     WHERE id = $1 AND offline AND offline_mode_at > $2 RETURNING role`,
    [peerId, iso(nowMs)],
  );
  if (rows.length === 0) return null;
  await audit(q, `oscp:${peerId}`, 'oscp.peer.online', peerId, { role: rows[0]!.role, reason: 'heartbeat' });
  return { gridAreaIds: rows[0]!.role === 'capacity_provider' ? await gridAreasOfPeers(q, [peerId]) : [] };
}

/** Nodes among `nodeIds` whose Capacity Provider is offline, with the moment it went offline (earliest wins). */
export async function offlineNodes(q: Queryable, nodeIds: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (nodeIds.length === 0) return out;
  const peers = await q.query<{ id: string; offline_since: unknown }>(
    `SELECT id, offline_since FROM oscp_peer WHERE offline AND role = 'capacity_provider' AND state <> 'revoked'`,
  );
  if (peers.length === 0) return out;
  const since = new Map(peers.map((p) => [p.id, toMs(p.offline_since)]));
  const rows = await q.query<{ node_id: string; peer_id: string }>(
    `SELECT node_id, peer_id FROM oscp_group WHERE peer_id = ANY($1::text[]) AND node_id = ANY($2::text[])
     UNION SELECT DISTINCT node_id, substr(source, 6) FROM forecast WHERE node_id = ANY($2::text[]) AND source = ANY($3::text[])`,
    [[...since.keys()], nodeIds, [...since.keys()].map((p) => `oscp:${p}`)],
  );
  for (const r of rows) {
    const s = since.get(r.peer_id);
    if (s === undefined) continue;
    const cur = out.get(r.node_id);
    out.set(r.node_id, cur === undefined ? s : Math.min(cur, s));
  }
  return out;
}

export interface OscpEnvelopeOptions {
  /** Import cap (kW) for offline intervals without a FALLBACK_CONSUMPTION forecast. */
  safeImportKw?: number | undefined;
  /** Export cap (kW) for offline intervals without a FALLBACK_GENERATION forecast. */
  safeExportKw?: number | undefined;
}

/**
 * The capacity envelopes from OSCP forecasts, honouring offline mode: a drop-in for
 * `loadEnvelopes(q, nodeIds, horizon)` in the orchestrator. For nodes of an offline Capacity Provider,
 * every interval starting at or after it went offline takes FALLBACK_CONSUMPTION / FALLBACK_GENERATION,
 * else the safe limit, else the normal forecast (see the header). Other nodes are unchanged.
 */
export async function loadOscpEnvelopes(q: Queryable, nodeIds: string[], h: Horizon, opts: OscpEnvelopeOptions = {}): Promise<CapacityEnvelope[]> {
  const normal = await loadEnvelopes(q, nodeIds, h);
  const offline = await offlineNodes(q, nodeIds);
  if (offline.size === 0) return normal;
  const fallback = await loadEnvelopes(q, [...offline.keys()], h, { importType: 'FALLBACK_CONSUMPTION', exportType: 'FALLBACK_GENERATION' });
  const fbByNode = new Map(fallback.map((e) => [e.nodeId, e]));
  const byNode = new Map(normal.map((e) => [e.nodeId, e]));
  for (const [nodeId, sinceMs] of offline) {
    const env = byNode.get(nodeId) ?? { nodeId, importKw: Array<number | null>(h.count).fill(null), exportKw: Array<number | null>(h.count).fill(null) };
    const fb = fbByNode.get(nodeId);
    for (let t = 0; t < h.count; t++) {
      // "From the next interval": the interval in which the peer went offline keeps its forecast.
      if (intervalStartMs(h, t) < sinceMs) continue;
      env.importKw[t] = fb?.importKw[t] ?? opts.safeImportKw ?? env.importKw[t] ?? null;
      env.exportKw[t] = fb?.exportKw[t] ?? opts.safeExportKw ?? env.exportKw[t] ?? null;
    }
    byNode.set(nodeId, env);
  }
  return [...byNode.values()];
}

/**
 * An orchestrator EnvelopeSource-compatible loader bound to the config's safe limits:
 * `(q, nodeIds, horizon) => loadOscpEnvelopes(q, nodeIds, horizon, safe limits)`.
 */
export function oscpEnvelopeLoader(config: { OSCP_OFFLINE_SAFE_IMPORT_KW?: number | undefined; OSCP_OFFLINE_SAFE_EXPORT_KW?: number | undefined }) {
  return (q: Queryable, nodeIds: string[], h: Horizon): Promise<CapacityEnvelope[]> =>
    loadOscpEnvelopes(q, nodeIds, h, { safeImportKw: config.OSCP_OFFLINE_SAFE_IMPORT_KW, safeExportKw: config.OSCP_OFFLINE_SAFE_EXPORT_KW });
}
