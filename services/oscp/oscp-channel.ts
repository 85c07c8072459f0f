import { createHash } from 'node:crypto';
import type { z } from 'zod';
import {
  AdjustGroupCapacityForecast,
  GroupCapacityComplianceError,
  Handshake,
  HandshakeAcknowledge,
  Heartbeat,
  Register,
  UpdateAssetMeasurements,
  UpdateGroupCapacityForecast,
  UpdateGroupMeasurements,
} from '../../grid-adapters/oscp/index.ts';
import { configSchema } from '../config.ts';
import type { ChannelHandler, DeliveryResult } from '../core/delivery.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Db, Queryable } from '../store/db.ts';
import { enqueue, type OutboxRow } from '../store/outbox-store.ts';
import { toMs } from '../store/rows.ts';
import { advancePeerState, getOscpPeer, peerEndpoint } from './peer-store.ts';
import { requiredBehaviourToward, type RequiredBehaviourConfig } from './required-behaviour.ts';

export interface OscpChannelDeps {
  db: Db;
  log: Logger;
  metrics: Metrics;
  fetchImpl?: typeof fetch;
  /** For the Handshake sent after our Register is accepted; defaults to the config default. */
  config?: RequiredBehaviourConfig;
  /** Per-call time-out (ms), default 10 s. */
  timeoutMs?: number;
}

/** What we send, by outbox action = the peer's endpoint name. Checked again before sending. */
const ACTIONS: Record<string, z.ZodType> = {
  register: Register,
  handshake: Handshake,
  handshake_acknowledge: HandshakeAcknowledge,
  heartbeat: Heartbeat,
  // gridflex as Flexibility Provider → a DSO
  update_group_measurements: UpdateGroupMeasurements,
  update_asset_measurements: UpdateAssetMeasurements,
  adjust_group_capacity_forecast: AdjustGroupCapacityForecast,
  group_capacity_compliance_error: GroupCapacityComplianceError,
  // gridflex as Capacity Provider → a CPO
  update_group_capacity_forecast: UpdateGroupCapacityForecast,
};

const MAX_RECORDED_BODY = 2000;
/** Marks a delivered Register whose token was wiped from the outbox; the suffix is the outcome. */
const REDACTED = 'redacted:';

/**
 * OSCP 2.0 HTTP headers: X-Request-ID must identify the message. Derived from the outbox row (id and
 * creation time), so every retry of one row carries the same id and the peer can drop duplicates,
 * while rows of another database (same ids after a reset) still get different ids. UUID-shaped.
 */
export function outboxRequestId(row: Pick<OutboxRow, 'id' | 'createdAt'>): string {
  const h = createHash('sha256').update(`gridflex:oscp:${row.id}:${toMs(row.createdAt)}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function tokenOf(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null || !('token' in payload)) return undefined;
  const t = (payload as { token: unknown }).token;
  return typeof t === 'string' ? t : undefined;
}

/**
 * A Register row carries a token that authenticates the peer toward us; once the call has a final
 * outcome it is not needed any more, so it does not stay readable in the outbox.
 */
async function redactRegisterToken(q: Queryable, id: number, outcome: 'acked' | 'rejected'): Promise<void> {
  await q.query(`UPDATE outbox SET payload = jsonb_set(payload, '{token}', to_jsonb($2::text)) WHERE id = $1`, [id, REDACTED + outcome]);
}

/**
 * Delivers outbox rows of channel 'oscp': POSTs the payload to `<peer base_url>/<action>` with
 * `Authorization: Token <token the peer gave us>`. 2xx → acked; 4xx → rejected (status and body
 * recorded), except 408/425/429 which are transient; 3xx → rejected (redirects are not followed, so
 * the token never goes elsewhere); 5xx, time-out or network error → retry; a peer without base_url or
 * token yet → unavailable. After our Register is accepted, queues our Handshake.
 */
export function createOscpChannel(deps: OscpChannelDeps): ChannelHandler {
  const { db, metrics } = deps;
  const fetchImpl = deps.fetchImpl ?? fetch;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const rbConfig: RequiredBehaviourConfig = deps.config ?? { OSCP_HEARTBEAT_INTERVAL_S: configSchema.shape.OSCP_HEARTBEAT_INTERVAL_S.parse(undefined) };
  const count = (message: string, status: string) => metrics.oscpMessages.inc({ direction: 'out', message, status });

  async function afterRegisterAcked(row: OutboxRow): Promise<void> {
    await db.tx(async (q) => {
      await redactRegisterToken(q, row.id, 'acked');
      const peer = await getOscpPeer(q, row.target);
      // We sent the first Register (startRegistration): the peer registers back with its lasting token,
      // and the handshake follows that; a handshake now would carry its spent registration token.
      if (!peer || peer.awaitingRegisterBack) return;
      await advancePeerState(q, row.target, ['registered'], 'handshake_requested');
      // OSCP 2.0 Handshake: after registration, each side states what it requires from the other.
      await enqueue(q, {
        channel: 'oscp',
        target: row.target,
        action: 'handshake',
        payload: { required_behaviour: requiredBehaviourToward(peer.role, rbConfig) },
        dedupeKey: `oscp:${row.target}:handshake`,
      });
    });
  }

  return async (row): Promise<DeliveryResult> => {
    const log = deps.log.child({ outboxId: row.id, peerId: row.target, action: row.action });
    const schema = ACTIONS[row.action];
    if (!schema) return { outcome: 'rejected', error: `unknown OSCP action ${row.action}` };
    const token = tokenOf(row.payload);
    if (row.action === 'register' && token?.startsWith(REDACTED)) {
      // Claimed again after a crash between delivery and bookkeeping: the outcome is already known.
      const outcome = token.slice(REDACTED.length) === 'acked' ? 'acked' : 'rejected';
      return outcome === 'acked' ? { outcome, response: { note: 'delivered before' } } : { outcome, error: 'rejected before' };
    }
    const checked = schema.safeParse(row.payload);
    if (!checked.success) return { outcome: 'rejected', error: `payload is not a valid OSCP 2.0 ${row.action}: ${checked.error.message}` };
    const peer = await peerEndpoint(db, row.target);
    if (!peer) return { outcome: 'rejected', error: 'unknown OSCP peer' };
    if (peer.state === 'revoked') return { outcome: 'rejected', error: 'OSCP peer revoked' };
    if (!peer.baseUrl || !peer.token) {
      count(row.action, 'unavailable');
      return { outcome: 'unavailable', error: 'OSCP peer has not registered (no base_url or token)' };
    }
    const requestId = outboxRequestId(row);
    let res: Response;
    try {
      res = await fetchImpl(`${peer.baseUrl}/${row.action}`, {
        method: 'POST',
        headers: { Authorization: `Token ${peer.token}`, 'X-Request-ID': requestId, 'Content-Type': 'application/json' },
        body: JSON.stringify(row.payload),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      count(row.action, 'network_error');
      const error = err instanceof Error ? err.message : String(err);
      log.info({ requestId, error }, 'OSCP call failed; will retry');
      return { outcome: 'retry', error };
    }
    const text = (await res.text().catch(() => '')).slice(0, MAX_RECORDED_BODY);
    count(row.action, String(res.status));
    const response = { status: res.status, correlationId: res.headers.get('x-correlation-id'), body: text || undefined };
    if (res.status >= 200 && res.status < 300) {
      if (row.action === 'register') await afterRegisterAcked(row);
      log.debug({ requestId, status: res.status }, 'OSCP message delivered');
      return { outcome: 'acked', response };
    }
    if (res.status >= 500 || res.status === 408 || res.status === 425 || res.status === 429) {
      return { outcome: 'retry', error: `HTTP ${res.status}${text ? `: ${text}` : ''}` };
    }
    if (row.action === 'register') await redactRegisterToken(db, row.id, 'rejected');
    log.warn({ requestId, status: res.status, body: text }, 'OSCP message rejected by peer');
    return { outcome: 'rejected', response, error: `HTTP ${res.status}` };
  };
}
