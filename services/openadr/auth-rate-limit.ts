import type { Request, Response } from 'express';
import { AppError } from '../http/errors.ts';

/**
 * Rate limiting of failed OpenADR authentication (POST /auth/token with bad credentials, requests
 * with a missing, forged or expired bearer token): token buckets per client id and per source IP.
 *
 * Only failures take tokens, so a client that logs in correctly is never slowed by its own or by
 * another client's successful traffic, and another client's failures drain only that client's
 * bucket (and the bucket of the IP they come from). A request is refused with 429 before its
 * credentials are checked once either bucket it would draw from is empty, so guessing stops being
 * answered. Per process (like the login throttles of the admin API): with several instances the
 * effective limit is the sum.
 *
 * Why hand-written and not express-rate-limit: that library counts requests in fixed windows per one
 * key and decides before the handler; here two keys (client id from the form body, source IP) are
 * drained only on failure, and the bearer-token check happens inside our route wrapper rather than
 * as middleware, so its middleware model would need two limiters plus skip/decrement hooks for what
 * is ~40 lines of token bucket — and a new dependency.
 */

export interface BucketSettings {
  burst: number;
  perMinute: number;
}

export interface TokenBuckets {
  /** Seconds until a token is available under `key` (0: one is available now). */
  waitS(key: string): number;
  /** Takes one token under `key` (the balance may not go below zero). */
  take(key: string): void;
}

export function createTokenBuckets(s: BucketSettings, now: () => number, maxKeys = 100_000): TokenBuckets {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const ratePerMs = s.perMinute / 60_000;
  const level = (key: string) => {
    const b = buckets.get(key);
    const t = now();
    if (!b) return { tokens: s.burst, at: t };
    // A clock stepping back (NTP) refills nothing rather than draining the bucket.
    return { tokens: Math.min(s.burst, b.tokens + Math.max(0, t - b.at) * ratePerMs), at: Math.max(t, b.at) };
  };
  return {
    waitS(key) {
      const { tokens } = level(key);
      return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / ratePerMs / 1000));
    },
    take(key) {
      const b = level(key);
      buckets.delete(key); // re-insert: Map order is then least recently failed first
      buckets.set(key, { tokens: Math.max(0, b.tokens - 1), at: b.at });
      // Bounded memory under a spray of client ids / addresses: forget the oldest (a forgotten key is full again).
      while (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value!);
    },
  };
}

export class TooManyRequests extends AppError {
  constructor(
    message: string,
    readonly retryAfterS: number,
  ) {
    super(429, 'Too Many Requests', message);
  }
}

export interface AuthRateLimiter {
  /** Throws TooManyRequests when the IP's (or the client id's) failure bucket is empty. */
  check(req: Request, clientId?: string): void;
  /** Records a failed attempt from the request's IP (and for the client id, when one was given). */
  failed(req: Request, clientId?: string): void;
}

export function createAuthRateLimiter(settings: { client: BucketSettings; ip: BucketSettings }, now: () => number): AuthRateLimiter {
  const byClient = createTokenBuckets(settings.client, now);
  const byIp = createTokenBuckets(settings.ip, now);
  const ipOf = (req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown';
  return {
    check(req, clientId) {
      const ip = byIp.waitS(ipOf(req));
      const client = clientId ? byClient.waitS(clientId) : 0;
      const wait = Math.max(ip, client);
      if (wait > 0) throw new TooManyRequests(ip > 0 ? 'too many failed authentication attempts from this address' : 'too many failed authentication attempts for this client', wait);
    },
    failed(req, clientId) {
      byIp.take(ipOf(req));
      if (clientId) byClient.take(clientId);
    },
  };
}

/** Sets Retry-After (RFC 9110 10.2.3) on a 429 answer. */
export function setRetryAfter(res: Response, err: unknown): void {
  if (err instanceof TooManyRequests) res.setHeader('Retry-After', String(err.retryAfterS));
}
