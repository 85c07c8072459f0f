import { registerMessage } from '../../grid-adapters/oscp/index.ts';
import { NotFound } from '../http/errors.ts';
import { audit } from '../store/audit-store.ts';
import type { Queryable } from '../store/db.ts';
import { enqueue } from '../store/outbox-store.ts';
import { ourBaseUrlFor } from './oscp-deps.ts';
import { getOscpPeer, hashToken, newToken, storeOutboundRegistration } from './peer-store.ts';
import { peerBaseUrl } from './session-routes.ts';

/**
 * OSCP 2.0 Register, gridflex first: the peer's operator handed ours its base_url and a one-time
 * registration token out of band. We queue a Register to `<baseUrl>/register` carrying a new token of
 * ours (its hash is stored first); the peer registers back with its lasting token, which completes the
 * exchange (see session-routes.ts), and the Handshake follows. `publicBaseUrl` is our public URL; the
 * base_url we announce is our FP endpoints toward a Capacity Provider, our CP endpoints toward a CPO.
 */
export async function startRegistration(q: Queryable, peerId: string, r: { baseUrl: string; registrationToken: string; publicBaseUrl: string; actor?: string }): Promise<void> {
  const peer = await getOscpPeer(q, peerId);
  if (!peer || peer.state === 'revoked') throw new NotFound(`OSCP peer ${peerId} does not exist or is revoked`);
  const baseUrl = peerBaseUrl(r.baseUrl);
  const ours = newToken();
  await storeOutboundRegistration(q, peerId, { registrationToken: r.registrationToken, baseUrl, inboundTokenHash: hashToken(ours) });
  await enqueue(q, {
    channel: 'oscp',
    target: peerId,
    action: 'register',
    payload: registerMessage(ours, ourBaseUrlFor(peer.role, r.publicBaseUrl)),
    dedupeKey: `oscp:${peerId}:register`,
  });
  await audit(q, r.actor ?? 'admin', 'oscp.register.start', peerId, { baseUrl });
}
