import type { Allocation, Horizon } from '../../optimizer/model.ts';
import { createOscpPeer, type OscpPeerRole } from '../../services/oscp/index.ts';
import type { Db } from '../../services/store/db.ts';

/** Test data for the OSCP reporting, offline and Capacity Provider code: peers and allocations. */

/**
 * A peer that has completed registration and handshake (as if the token exchange had run), callable
 * at `baseUrl`. `measurement`: the measurement_configuration the peer asked of us.
 */
export async function aRegisteredPeer(
  db: Db,
  role: OscpPeerRole,
  o: { name?: string; baseUrl?: string; measurement?: string[]; heartbeatIntervalS?: number } = {},
): Promise<string> {
  const { peerId } = await createOscpPeer(db, { name: o.name ?? `${role} peer`, role });
  await db.query(
    `UPDATE oscp_peer SET state = 'handshake_done', outbound_token = 'tok-' || id, base_url = $2, version = '2.0',
       registration_token_hash = NULL, inbound_token_hash = 'hash-' || id, measurement_configuration = $3::jsonb, heartbeat_interval_s = $4
     WHERE id = $1`,
    [peerId, o.baseUrl ?? 'http://127.0.0.1:9/oscp', JSON.stringify(o.measurement ?? []), o.heartbeatIntervalS ?? null],
  );
  return peerId;
}

/** An allocation over `h` with nothing in it, changed by `change`. */
export function anAllocation(h: Horizon, change: (a: Allocation) => void = () => undefined): Allocation {
  const a: Allocation = { status: 'optimal', horizon: h, evses: [], nodeTotalsKw: {}, nodeLimitsKw: {}, unmet: [], binding: [], objective: 0, solveMs: 1 };
  change(a);
  return a;
}
