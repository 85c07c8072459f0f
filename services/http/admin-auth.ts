import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { Unauthorized } from './errors.ts';
import type { Authenticator } from './route.ts';

export interface AdminPrincipal {
  kind: 'admin';
}

/** Bearer admin token, compared in constant time (hashes first, so lengths never leak). */
export function adminAuth(token: string): Authenticator<AdminPrincipal> {
  const want = createHash('sha256').update(token).digest();
  return (req: Request) => {
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    const cookieToken = readCookie(req, 'gridflex_admin');
    const given = m?.[1] ?? cookieToken;
    if (!given) throw new Unauthorized('missing bearer token');
    if (!timingSafeEqual(createHash('sha256').update(given).digest(), want)) throw new Unauthorized('invalid token');
    return { kind: 'admin' };
  };
}

/** Constant-time comparison of a presented token with the expected one. */
export function tokenMatches(expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

export function readCookie(req: Request, name: string): string | undefined {
  const raw = req.headers.cookie;
  if (!raw) return undefined;
  for (const part of raw.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}
