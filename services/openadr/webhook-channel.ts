import type { ChannelHandler, DeliveryResult } from '../core/delivery.ts';
import type { Logger } from '../log.ts';
import { NOTIFY_ACTION, type WebhookPayload } from './notify.ts';

const MAX_RECORDED_BODY = 2000;

/**
 * Delivers outbox rows of channel 'openadr' (target = subscription id): POSTs the notification to the
 * subscription's callbackUrl with `Authorization: Bearer <bearerToken>` when the subscriber gave one
 * (Definitions, Security, Webhooks: "callback endpoints should accept the provided bearer token").
 * 2xx → acked; 5xx, 408, 425, 429, time-out or network error → retry (with the outbox's backoff);
 * other 4xx and 3xx → rejected (redirects are not followed, so the token never goes elsewhere).
 */
export function createOpenadrChannel(deps: { log: Logger; fetchImpl?: typeof fetch; timeoutMs?: number }): ChannelHandler {
  const fetchImpl = deps.fetchImpl ?? fetch;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  return async (row): Promise<DeliveryResult> => {
    if (row.action !== NOTIFY_ACTION) return { outcome: 'rejected', error: `unknown OpenADR action ${row.action}` };
    const p = row.payload as WebhookPayload;
    const log = deps.log.child({ outboxId: row.id, subscriptionId: row.target });
    let res: Response;
    try {
      res = await fetchImpl(p.callbackUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(p.bearerToken ? { Authorization: `Bearer ${p.bearerToken}` } : {}) },
        body: JSON.stringify(p.notification),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      log.info({ error }, 'OpenADR webhook failed; will retry');
      return { outcome: 'retry', error };
    }
    const text = (await res.text().catch(() => '')).slice(0, MAX_RECORDED_BODY);
    const response = { status: res.status, body: text || undefined };
    if (res.status >= 200 && res.status < 300) return { outcome: 'acked', response };
    if (res.status >= 500 || res.status === 408 || res.status === 425 || res.status === 429) return { outcome: 'retry', error: `HTTP ${res.status}` };
    log.warn({ status: res.status }, 'OpenADR webhook rejected by subscriber');
    return { outcome: 'rejected', response, error: `HTTP ${res.status}` };
  };
}
