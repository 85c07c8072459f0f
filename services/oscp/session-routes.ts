import {
  Handshake,
  HandshakeAcknowledge,
  Heartbeat,
  Register,
  chooseVersion,
  parseDateTimeMs,
  readRequiredBehaviour,
  registerMessage,
} from '../../grid-adapters/oscp/index.ts';
import type { OscpPeerRole } from './peer-store.ts';
import { BadRequest, Unavailable } from '../http/errors.ts';
import { route, type ApiRouter } from '../http/route.ts';
import { audit } from '../store/audit-store.ts';
import { enqueue } from '../store/outbox-store.ts';
import { acceptOnce } from './accept-once.ts';
import { authenticatePeer, type OscpPrincipal } from './oscp-auth.ts';
import { ourBaseUrlFor, type OscpCpDeps } from './oscp-deps.ts';
import { requestIdOf } from './oscp-http.ts';
import { markOnline } from './offline.ts';
import { completeRegistration, hashToken, newToken, storeHeartbeat, storeRegistration, storeRequiredBehaviour, unregisterPeer } from './peer-store.ts';
import { requiredBehaviourToward } from './required-behaviour.ts';

type NoQuery = Record<string, never>;

/** A peer's base_url must be an absolute http(s) URL: we POST to it. Trailing slashes are dropped. */
export function peerBaseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new BadRequest('version_url.base_url must be an absolute http(s) URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new BadRequest('version_url.base_url must be an absolute http(s) URL');
  if (u.username || u.password) throw new BadRequest('version_url.base_url must not carry credentials');
  return u.toString().replace(/\/+$/, '');
}

/**
 * Register, Handshake, HandshakeAcknowledgement and Heartbeat, received from a peer of `peerRole`: a
 * Capacity Provider on the FP endpoints (default), a Flexibility Provider (CPO) on the CP endpoints.
 * `onAreaChanged` is called for the grid areas whose limits change when an offline peer is back.
 */
export function sessionRoutes(
  api: ApiRouter,
  deps: Pick<OscpCpDeps, 'db' | 'log' | 'config' | 'publicBaseUrl' | 'metrics' | 'now'>,
  opts: { peerRole?: OscpPeerRole; onAreaChanged?: (gridAreaId: string) => void } = {},
): void {
  const { db } = deps;
  const role = opts.peerRole ?? 'capacity_provider';
  const actor = (p: OscpPrincipal) => `oscp:${p.peer.id}`;
  const logFor = (p: OscpPrincipal, reqId: string, message: string) => deps.log.child({ reqId, peerId: p.peer.id, oscpMessage: message });

  // OSCP 2.0 Register. The peer calls us with the one-time registration token (or, to re-register,
  // the token we issued), giving the token we must use toward it and its base_url per version. We
  // answer 204, then register back (outbox) with a new token of ours; from the moment it is stored
  // the registration token no longer works. When we sent the first Register (startRegistration),
  // this is the peer's reply: stored, not answered with another Register, and we handshake.
  // PUT /register updates a registration (token rotation, new URL) and needs the current token;
  // both answer the same way.
  for (const method of ['post', 'put'] as const) {
    route<Register, NoQuery, OscpPrincipal>(api, {
      method,
      path: '/register',
      summary: method === 'post' ? 'OSCP 2.0 Register' : 'OSCP 2.0 Register (update)',
      auth: (req) => authenticatePeer(db, req, { allowRegistration: method === 'post', role }),
      body: Register,
      status: 204,
      handler: async ({ body, principal, req }) => {
        const reqId = requestIdOf(req);
        const version = chooseVersion(body);
        if (!version) throw new BadRequest('version_url must offer OSCP version 2.0, the only version gridflex speaks');
        const baseUrl = peerBaseUrl(version.base_url);
        if (body.token.trim() === '') throw new BadRequest('token must not be empty');
        const publicUrl = deps.publicBaseUrl;
        if (!publicUrl) throw new Unavailable('gridflex does not know its public URL yet (PUBLIC_URL); try again later');
        const peerId = principal.peer.id;
        const reply = principal.via === 'token' && principal.peer.awaitingRegisterBack;
        const ours = newToken();
        await acceptOnce(db, peerId, reqId, async (q) => {
          if (reply) {
            await completeRegistration(q, peerId, { outboundToken: body.token, baseUrl, version: version.version.trim() });
            // OSCP 2.0 Handshake: after registration each side states what it requires from the other.
            await enqueue(q, {
              channel: 'oscp',
              target: peerId,
              action: 'handshake',
              payload: { required_behaviour: requiredBehaviourToward(role, deps.config) },
              dedupeKey: `oscp:${peerId}:handshake`,
            });
          } else {
            // The new inbound token is stored (hashed) before the call that carries it can go out.
            await storeRegistration(q, peerId, { outboundToken: body.token, baseUrl, version: version.version.trim(), inboundTokenHash: hashToken(ours) });
            await enqueue(q, {
              channel: 'oscp',
              target: peerId,
              action: 'register',
              payload: registerMessage(ours, ourBaseUrlFor(role, publicUrl)),
              dedupeKey: `oscp:${peerId}:register`,
            });
          }
          await audit(q, actor(principal), 'oscp.register', peerId, { baseUrl, version: '2.0', via: principal.via, method, reply, requestId: reqId });
        });
        logFor(principal, reqId, 'register').info({ baseUrl, via: principal.via, reply }, reply ? 'OSCP peer answered our Register' : 'OSCP peer registered; registering back');
      },
    });
  }

  // DELETE /register: the peer ends the registration. Its token stops working; we send it nothing more.
  route<undefined, NoQuery, OscpPrincipal>(api, {
    method: 'delete',
    path: '/register',
    summary: 'OSCP 2.0 Register (unregister)',
    auth: (req) => authenticatePeer(db, req, { allowRegistration: false, role }),
    status: 204,
    handler: async ({ principal, req }) => {
      const reqId = requestIdOf(req);
      await acceptOnce(db, principal.peer.id, reqId, async (q) => {
        await unregisterPeer(q, principal.peer.id);
        await audit(q, actor(principal), 'oscp.unregister', principal.peer.id, { requestId: reqId });
      });
      logFor(principal, reqId, 'register').info('OSCP peer unregistered');
    },
  });

  // OSCP 2.0 Handshake from the peer: its required_behaviour is what it requires from us (heartbeat
  // interval). We store it, answer 204 and acknowledge (outbox) with what we require from it.
  route<Handshake, NoQuery, OscpPrincipal>(api, {
    method: 'post',
    path: '/handshake',
    summary: 'OSCP 2.0 Handshake',
    auth: (req) => authenticatePeer(db, req, { allowRegistration: false, role }),
    body: Handshake,
    status: 204,
    handler: async ({ body, principal, req }) => {
      const reqId = requestIdOf(req);
      const rb = body.required_behaviour ? readRequiredBehaviour(body.required_behaviour) : null;
      await acceptOnce(db, principal.peer.id, reqId, async (q) => {
        await storeRequiredBehaviour(q, principal.peer.id, rb, 'handshake_done');
        await enqueue(q, {
          channel: 'oscp',
          target: principal.peer.id,
          action: 'handshake_acknowledge',
          payload: { required_behaviour: requiredBehaviourToward(role, deps.config) },
          dedupeKey: `oscp:${principal.peer.id}:handshake_acknowledge`,
        });
        await audit(q, actor(principal), 'oscp.handshake', principal.peer.id, { requiredBehaviour: rb, requestId: reqId });
      });
      logFor(principal, reqId, 'handshake').info({ heartbeatIntervalS: rb?.heartbeatIntervalS ?? null }, 'OSCP handshake received; acknowledging');
    },
  });

  // OSCP 2.0 HandshakeAcknowledgement: the peer's answer to our Handshake, with its required_behaviour.
  route<HandshakeAcknowledge, NoQuery, OscpPrincipal>(api, {
    method: 'post',
    path: '/handshake_acknowledge',
    summary: 'OSCP 2.0 HandshakeAcknowledgement',
    auth: (req) => authenticatePeer(db, req, { allowRegistration: false, role }),
    body: HandshakeAcknowledge,
    status: 204,
    handler: async ({ body, principal, req }) => {
      const reqId = requestIdOf(req);
      const rb = body.required_behaviour ? readRequiredBehaviour(body.required_behaviour) : null;
      await acceptOnce(db, principal.peer.id, reqId, async (q) => {
        await storeRequiredBehaviour(q, principal.peer.id, rb, 'handshake_done');
        await audit(q, actor(principal), 'oscp.handshake_acknowledge', principal.peer.id, { requiredBehaviour: rb, requestId: reqId });
      });
      logFor(principal, reqId, 'handshake_acknowledge').info({ heartbeatIntervalS: rb?.heartbeatIntervalS ?? null }, 'OSCP handshake acknowledged');
    },
  });

  // OSCP 2.0 Heartbeat: offline_mode_at is when the peer is to be considered offline unless another
  // heartbeat arrives (then fallback forecasts apply). Not audited: it comes every few minutes.
  route<Heartbeat, NoQuery, OscpPrincipal>(api, {
    method: 'post',
    path: '/heartbeat',
    summary: 'OSCP 2.0 Heartbeat',
    auth: (req) => authenticatePeer(db, req, { allowRegistration: false, role }),
    body: Heartbeat,
    status: 204,
    handler: async ({ body, principal, req }) => {
      const reqId = requestIdOf(req);
      const offlineAt = parseDateTimeMs(body.offline_mode_at)!; // valid: the schema checked it
      // A peer in offline mode is back with its first heartbeat: normal forecasts apply again at once.
      const back = await acceptOnce(db, principal.peer.id, reqId, async (q) => {
        await storeHeartbeat(q, principal.peer.id, offlineAt);
        return markOnline(q, principal.peer.id, (deps.now ?? Date.now)());
      });
      logFor(principal, reqId, 'heartbeat').debug({ offlineModeAt: body.offline_mode_at }, 'OSCP heartbeat');
      if (back) {
        logFor(principal, reqId, 'heartbeat').warn({ gridAreaIds: back.gridAreaIds }, 'OSCP peer back online: normal forecasts apply again');
        for (const a of back.gridAreaIds) opts.onAreaChanged?.(a);
      }
    },
  });
}
