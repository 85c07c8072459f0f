import type { Request } from 'express';
import { z } from 'zod';
import { MAX_PAGE, Target } from '../../grid-adapters/openadr3/index.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { ApiRouter } from '../http/route.ts';
import type { Db, Queryable } from '../store/db.ts';
import type { AuthRateLimiter } from './auth-rate-limit.ts';
import type { OpenadrPrincipal, TokenIssuer } from './auth.ts';
import { queueNotifications, type Change } from './notify.ts';

/** What the VTN routes share. */
export interface VtnContext {
  db: Db;
  log: Logger;
  metrics: Metrics;
  config: Config;
  issuer: TokenIssuer;
  /** Failed-authentication throttle (token endpoint and bearer tokens). */
  authLimiter: AuthRateLimiter;
  now: () => number;
  onSignalsChanged(gridAreaId: string): void;
  api: ApiRouter;
  auth: (req: Request) => Promise<OpenadrPrincipal>;
}

/** Signal source name of this VTN's events in dr_signal. */
export const VTN_SOURCE = 'openadr-vtn';

/** A query array parameter: `?targets=a&targets=b` or `?targets=a`. */
const arrayParam = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]), z.array(item).optional());

/** skip/limit of every search (Definitions, Response Filtering; limit maximum 50 in the document). */
export const PageQuery = z.object({
  skip: z.coerce.number().int().min(0).max(2_147_483_647).default(0),
  limit: z.coerce.number().int().min(0).max(MAX_PAGE, `limit must be at most ${MAX_PAGE}`).default(MAX_PAGE),
});
export const TargetsQuery = z.object({ targets: arrayParam(Target) });
export const boolParam = z.enum(['true', 'false']).transform((v) => v === 'true');
export { arrayParam };

/**
 * Runs a change in one transaction: the write, its notifications (outbox) and its signals commit
 * together; grid areas whose signals changed are reported after the commit.
 */
export async function mutate<T>(
  ctx: VtnContext,
  fn: (q: Queryable, out: { notify: (c: Change) => Promise<void>; signalsChanged: (gridAreaId: string) => void }) => Promise<T>,
): Promise<T> {
  const areas = new Set<string>();
  const mqtt = ctx.config.OPENADR_MQTT_BROKER_URL ? { prefix: ctx.config.MQTT_TOPIC_PREFIX } : undefined;
  const result = await ctx.db.tx((q) =>
    fn(q, {
      notify: async (c) => {
        await queueNotifications(q, c, mqtt);
      },
      signalsChanged: (a) => areas.add(a),
    }),
  );
  for (const a of areas) {
    try {
      ctx.onSignalsChanged(a);
    } catch (err) {
      ctx.log.error({ err, gridAreaId: a }, 'onSignalsChanged failed');
    }
  }
  return result;
}

/** Removes null/undefined-valued optional fields and the VTN-owned metadata from a request body. */
export function storedBody(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (v === undefined) continue;
    // Definitions, POST and PUT: "A VTN SHALL ignore objectID, createdDateTime, modificationDateTime, and objectType values".
    if (k === 'id' || k === 'createdDateTime' || k === 'modificationDateTime' || k === 'objectType') continue;
    out[k] = v;
  }
  return out;
}
