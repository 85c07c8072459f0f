import type { Request } from 'express';
import type { Queryable } from '../store/db.ts';
import { Forbidden, Unauthorized } from '../http/errors.ts';
import { findPeerByInboundTokenHash, findPeerByRegistrationTokenHash, hashToken, type OscpPeer } from './peer-store.ts';

/**
 * OSCP 2.0 authorisation: every request carries `Authorization: Token <token>`, the token the receiver
 * issued to the sender (at registration, or out of band for the first Register).
 * Returns the token, or null when the header is absent or not of that form. The scheme is matched
 * case-insensitively (RFC 9110 §11.1); the token is opaque and compared exactly.
 */
export function parseTokenAuthorization(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^Token +(\S+) *$/i.exec(header);
  return m ? m[1]! : null;
}

export interface OscpPrincipal {
  peer: OscpPeer;
  /** 'registration': the one-time token handed out of band, valid for /register only. */
  via: 'registration' | 'token';
}

/**
 * Finds the calling peer. The one-time registration token is accepted only where `allowRegistration`
 * (the Register endpoint); everywhere else only the token we issued at registration counts.
 * 401 for a missing or unknown token, 403 for a revoked peer or one of another role than `role`
 * (default 'capacity_provider': the Flexibility Provider routes; the CP routes take 'flexibility_provider').
 */
export async function authenticatePeer(
  q: Queryable,
  req: Request,
  opts: { allowRegistration: boolean; role?: OscpPeer['role'] },
): Promise<OscpPrincipal> {
  const token = parseTokenAuthorization(req.get('authorization'));
  if (token === null) throw new Unauthorized('missing Authorization: Token header');
  const hash = hashToken(token);
  let principal: OscpPrincipal | undefined;
  const peer = await findPeerByInboundTokenHash(q, hash);
  if (peer) principal = { peer, via: 'token' };
  else if (opts.allowRegistration) {
    const registering = await findPeerByRegistrationTokenHash(q, hash);
    if (registering) principal = { peer: registering, via: 'registration' };
  }
  if (!principal) throw new Unauthorized('unknown token');
  // Known from here on, so error logs of this request name the peer too (see oscpErrorHandler).
  if (req.res) req.res.locals.peerId = principal.peer.id;
  if (principal.peer.state === 'revoked') throw new Forbidden('peer revoked');
  const role = opts.role ?? 'capacity_provider';
  if (principal.peer.role !== role) {
    throw new Forbidden(
      role === 'capacity_provider'
        ? 'only a Capacity Provider may call the Flexibility Provider endpoints'
        : 'only a Flexibility Provider (CPO) may call the Capacity Provider endpoints',
    );
  }
  return principal;
}
