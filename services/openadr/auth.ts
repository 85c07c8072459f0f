import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { SignJWT, jwtVerify } from 'jose';
import { SCOPES, type Scope } from '../../grid-adapters/openadr3/index.ts';
import { Forbidden, Unauthorized } from '../http/errors.ts';
import type { Queryable } from '../store/db.ts';

/**
 * OpenADR 3 authentication (Definitions, Security: "OAuth 2.0 client credential flow", "Bearer tokens"):
 * clients (BL or VEN) are created by the operator with a secret shown once; POST /auth/token trades
 * client_id/client_secret for a signed JWT (HS256) carrying the client id, its role and its scopes,
 * valid OPENADR_TOKEN_TTL_S seconds. Every request presents it as `Authorization: Bearer <jwt>`; the
 * client is looked up on each request so a revoked client stops at once.
 *
 * Secrets are 256 random bits, so an unsalted SHA-256 is enough to store them (like OSCP tokens).
 */

export type OpenadrRole = 'bl' | 'ven';

export interface OpenadrPrincipal {
  clientId: string;
  role: OpenadrRole;
  scopes: ReadonlySet<Scope>;
}

/** Default scopes by role (securitySchemes of the 3.1.0 document: what BL and VENs may do). */
export const DEFAULT_SCOPES: Record<OpenadrRole, Scope[]> = {
  bl: ['read_all', 'read_bl', 'write_programs', 'write_events', 'write_subscriptions', 'write_vens'],
  ven: ['read_targets', 'read_ven_objects', 'write_reports', 'write_subscriptions', 'write_vens'],
};

const ISSUER = 'gridflex:openadr3';
const AUDIENCE = 'openadr3-vtn';

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Creates a client; the secret is returned once and only its hash is kept. */
export async function createOpenadrClient(
  q: Queryable,
  input: { name: string; role: OpenadrRole; scopes?: Scope[]; clientId?: string },
): Promise<{ clientId: string; clientSecret: string; scopes: Scope[] }> {
  const scopes = input.scopes ?? DEFAULT_SCOPES[input.role];
  for (const s of scopes) if (!(SCOPES as readonly string[]).includes(s)) throw new Error(`unknown OpenADR scope ${s}`);
  const clientId = input.clientId ?? `${input.role}-${randomBytes(9).toString('base64url')}`;
  const clientSecret = randomBytes(32).toString('base64url');
  await q.query('INSERT INTO openadr_client (id, name, role, scopes, secret_hash) VALUES ($1,$2,$3,$4,$5)', [
    clientId,
    input.name,
    input.role,
    scopes,
    hashSecret(clientSecret),
  ]);
  return { clientId, clientSecret, scopes };
}

export async function revokeOpenadrClient(q: Queryable, clientId: string): Promise<boolean> {
  const rows = await q.query('UPDATE openadr_client SET revoked = true WHERE id = $1 RETURNING id', [clientId]);
  return rows.length > 0;
}

export async function listOpenadrClients(q: Queryable): Promise<{ clientId: string; name: string; role: OpenadrRole; scopes: string[]; revoked: boolean; createdAt: string }[]> {
  const rows = await q.query<{ id: string; name: string; role: OpenadrRole; scopes: string[]; revoked: boolean; created_at: Date }>(
    'SELECT id, name, role, scopes, revoked, created_at FROM openadr_client ORDER BY created_at, id',
  );
  return rows.map((r) => ({ clientId: r.id, name: r.name, role: r.role, scopes: r.scopes, revoked: r.revoked, createdAt: new Date(r.created_at).toISOString() }));
}

interface ClientRow {
  id: string;
  role: OpenadrRole;
  scopes: string[];
  secret_hash: string;
  revoked: boolean;
}

async function clientRow(q: Queryable, clientId: string): Promise<ClientRow | undefined> {
  const [r] = await q.query<ClientRow>('SELECT id, role, scopes, secret_hash, revoked FROM openadr_client WHERE id = $1', [clientId]);
  return r;
}

/** Why a token request failed, in RFC 6749 5.2 terms. */
export class TokenError extends Error {
  constructor(
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_scope' | 'unsupported_grant_type',
    message: string,
  ) {
    super(message);
  }
}

export interface TokenIssuer {
  issue(q: Queryable, clientId: string, clientSecret: string, scope?: string): Promise<{ token: string; expiresIn: number; scopes: Scope[] }>;
  authenticate(q: Queryable, req: Request): Promise<OpenadrPrincipal>;
  /** The principal of a bearer token (also the MQTT password, OAUTH2_BEARER_TOKEN); throws Unauthorized. */
  verify(q: Queryable, token: string): Promise<OpenadrPrincipal>;
}

export function createTokenIssuer(opts: { secret: Uint8Array; ttlS: number; now?: () => number }): TokenIssuer {
  const now = opts.now ?? Date.now;
  return {
    async issue(q, clientId, clientSecret, scope) {
      const c = await clientRow(q, clientId);
      const given = Buffer.from(hashSecret(clientSecret), 'hex');
      const want = Buffer.from(c?.secret_hash ?? hashSecret(randomBytes(16).toString('hex')), 'hex');
      if (!c || c.revoked || !timingSafeEqual(given, want)) throw new TokenError('invalid_client', 'unknown client or wrong secret');
      let scopes = c.scopes as Scope[];
      if (scope !== undefined && scope.trim() !== '') {
        const asked = scope.trim().split(/\s+/);
        const bad = asked.filter((s) => !scopes.includes(s as Scope));
        if (bad.length > 0) throw new TokenError('invalid_scope', `scope not granted to this client: ${bad.join(' ')}`);
        scopes = asked as Scope[];
      }
      const iat = Math.floor(now() / 1000);
      const token = await new SignJWT({ role: c.role, scope: scopes.join(' ') })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(c.id)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(iat)
        .setExpirationTime(iat + opts.ttlS)
        .setJti(randomBytes(8).toString('hex'))
        .sign(opts.secret);
      return { token, expiresIn: opts.ttlS, scopes };
    },

    async authenticate(q, req) {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (!m) throw new Unauthorized('missing bearer token');
      return this.verify(q, m[1]!);
    },

    async verify(q, token) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, opts.secret, {
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ['HS256'],
          currentDate: new Date(now()),
        }));
      } catch {
        throw new Unauthorized('invalid or expired bearer token');
      }
      const clientId = payload.sub;
      if (!clientId) throw new Unauthorized('token without subject');
      const c = await clientRow(q, clientId);
      if (!c || c.revoked) throw new Unauthorized('client revoked');
      const scopes = new Set(String(payload.scope ?? '').split(/\s+/).filter((s): s is Scope => c.scopes.includes(s)));
      return { clientId, role: c.role, scopes };
    },
  };
}

/** Throws 403 unless the principal holds one of the scopes (the operation's security requirement). */
export function requireScope(p: OpenadrPrincipal, ...anyOf: Scope[]): void {
  if (!anyOf.some((s) => p.scopes.has(s))) throw new Forbidden(`requires scope ${anyOf.join(' or ')}`);
}

/** Read scope check: BL's read_all covers every read. */
export function requireRead(p: OpenadrPrincipal, scope: Scope): void {
  requireScope(p, 'read_all', scope);
}

export function isBl(p: OpenadrPrincipal): boolean {
  return p.role === 'bl';
}

/** The token key: OPENADR_TOKEN_SECRET, or a random one per start where secrets are not required. */
export function tokenSecret(config: { OPENADR_TOKEN_SECRET?: string; NODE_ENV: string; GRIDFLEX_REQUIRE_SECRETS?: boolean }): { key: Uint8Array; generated: boolean } {
  if (config.OPENADR_TOKEN_SECRET) return { key: new TextEncoder().encode(config.OPENADR_TOKEN_SECRET), generated: false };
  if (config.NODE_ENV === 'production' || config.GRIDFLEX_REQUIRE_SECRETS) {
    throw new Error('OPENADR_TOKEN_SECRET is required in production (OpenADR 3 VTN bearer tokens)');
  }
  return { key: randomBytes(32), generated: true };
}
