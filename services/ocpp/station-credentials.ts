/**
 * Station passwords for OCPP security profile 1 (HTTP Basic over the WebSocket upgrade; use profile 2,
 * i.e. the same over TLS, in production). Only a scrypt hash is stored: `scrypt$N$r$p$salt$hash` with
 * salt and hash in base64.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Queryable } from '../store/db.ts';

/**
 * OCPP 2.0.1 (BasicAuthPassword, passwordString of 16..40 characters) and the OCPP 1.6 security
 * whitepaper (AuthorizationKey of at least 16 bytes) both ask for at least 16.
 */
export const MIN_PASSWORD_LENGTH = 16;

const N = 16384;
const R = 8;
const P = 1;
const KEY_LEN = 32;
const SALT_LEN = 16;
/** Refuse stored parameters that would make one verification absurdly expensive (a tampered row). */
const MAX_N = 1 << 20;

function scryptAsync(password: Buffer, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function toBuffer(password: string | Buffer): Buffer {
  return typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
}

/** Hashes a password into the stored format. Throws when it is shorter than 16 characters / bytes. */
export async function hashStationPassword(password: string | Buffer): Promise<string> {
  const length = typeof password === 'string' ? [...password].length : password.length;
  if (length < MIN_PASSWORD_LENGTH) throw new Error(`station password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  const salt = randomBytes(SALT_LEN);
  const hash = await scryptAsync(toBuffer(password), salt, KEY_LEN, { N, r: R, p: P, maxmem: 128 * N * R * 2 });
  return ['scrypt', N, R, P, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** Sets (or replaces) the password of a station. The node must exist and be a station. */
export async function setStationPassword(q: Queryable, stationId: string, password: string | Buffer): Promise<void> {
  const rows = await q.query<{ kind: string }>('SELECT kind FROM topology_node WHERE id = $1', [stationId]);
  if (rows[0]?.kind !== 'station') throw new Error(`${stationId} is not a station in the topology`);
  const hash = await hashStationPassword(password);
  await q.query(
    `INSERT INTO station_credential (station_id, password_hash) VALUES ($1, $2)
     ON CONFLICT (station_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, created_at = now()`,
    [stationId, hash],
  );
}

/** True when the station has a stored password and `password` matches it (constant-time compare). */
export async function verifyStationPassword(q: Queryable, stationId: string, password: string | Buffer): Promise<boolean> {
  const rows = await q.query<{ password_hash: string }>('SELECT password_hash FROM station_credential WHERE station_id = $1', [stationId]);
  const stored = rows[0]?.password_hash;
  if (!stored) return false;
  return verifyAgainstHash(stored, password);
}

export async function verifyAgainstHash(stored: string, password: string | Buffer): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![n, r, p].every((v) => Number.isInteger(v) && v > 0) || n > MAX_N || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (salt.length === 0 || expected.length === 0) return false;
  const actual = await scryptAsync(toBuffer(password), salt, expected.length, { N: n, r, p, maxmem: 128 * n * r * 2 });
  return timingSafeEqual(actual, expected);
}
