import type { OutboxRow } from '../store/outbox-store.ts';

/**
 * What a channel reports after trying to deliver one outbox message.
 * - acked: the peer accepted it (final).
 * - rejected: the peer answered and refused it (final; recorded, flagged).
 * - retry: a transient failure (time-out, 5xx, connection lost): tried again with backoff, counts an attempt.
 * - unavailable: the target is not reachable right now (station offline): stays pending without counting
 *   an attempt, and is sent when the target comes back.
 */
export type DeliveryResult =
  | { outcome: 'acked'; response?: unknown }
  | { outcome: 'rejected'; response?: unknown; error?: string }
  | { outcome: 'retry'; error: string }
  | { outcome: 'unavailable'; error?: string };

export type ChannelHandler = (msg: OutboxRow) => Promise<DeliveryResult>;
