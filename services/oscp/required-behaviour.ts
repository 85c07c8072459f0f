import { ourRequiredBehaviour, type RequiredBehaviour } from '../../grid-adapters/oscp/index.ts';
import type { Config } from '../config.ts';
import type { OscpPeerRole } from './peer-store.ts';

export type RequiredBehaviourConfig = Pick<Config, 'OSCP_HEARTBEAT_INTERVAL_S'> & Partial<Pick<Config, 'OSCP_CPO_MEASUREMENT_CONFIGURATION'>>;

/**
 * What we require from a peer in our Handshake / HandshakeAcknowledgement (OSCP 2.0 RequiredBehaviour):
 * heartbeats at OSCP_HEARTBEAT_INTERVAL_S; from a Flexibility Provider (a CPO, gridflex being its
 * Capacity Provider) also measurements as OSCP_CPO_MEASUREMENT_CONFIGURATION says (default CONTINUOUS).
 * A Capacity Provider never sends measurements, so we ask it for none.
 */
export function requiredBehaviourToward(peerRole: OscpPeerRole, config: RequiredBehaviourConfig): RequiredBehaviour {
  if (peerRole === 'capacity_provider') return ourRequiredBehaviour(config.OSCP_HEARTBEAT_INTERVAL_S);
  const m = config.OSCP_CPO_MEASUREMENT_CONFIGURATION ?? 'CONTINUOUS';
  return ourRequiredBehaviour(config.OSCP_HEARTBEAT_INTERVAL_S, m === 'NONE' ? [] : [m]);
}
