import type { Notification, ObjectType, Operation } from '../../grid-adapters/openadr3/index.ts';
import type { Queryable } from '../store/db.ts';
import { enqueue, type OutboxChannel } from '../store/outbox-store.ts';
import { grantedTargets, toWire, type StoredObject } from './vtn-store.ts';

/**
 * Notifications of object operations (Definitions, Subscriptions; Notifications via Additional
 * Protocols). Computed inside the transaction that changes the object and queued in the outbox, so a
 * notification is sent (and retried) exactly when the change is committed:
 * - webhooks: one outbox row (channel 'openadr') per matching subscription objectOperation, POSTed to
 *   its callbackUrl with the subscriber's bearerToken;
 * - MQTT (when OPENADR_MQTT_BROKER_URL is set): rows on channel 'mqtt' to the topics of
 *   mqttTopics(), under `<MQTT_TOPIC_PREFIX>/openadr3/`.
 *
 * "When evaluating whether to send a notification of a change of state of an object with targets, the
 * VTN SHALL use the clientID of a subscription object to discover the associated ven and resource
 * objects, and process the targets as described above" (Definitions, Object Privacy): a VEN
 * subscriber is notified of a targeted program/event only when the subscription's targets, intersected
 * with the targets granted to it, meet the object's; and of vens, resources, reports and
 * subscriptions only when they are its own.
 */

/** The outbox channel of OpenADR webhooks (remove the cast once OutboxChannel lists 'openadr'). */
export const OPENADR_CHANNEL: OutboxChannel = 'openadr';
export const NOTIFY_ACTION = 'notification';

export interface WebhookPayload {
  callbackUrl: string;
  bearerToken: string | null;
  notification: Notification;
}

interface SubRow {
  id: string;
  client_id: string;
  program_id: string | null;
  body: { objectOperations: { objects: string[]; operations: string[]; callbackUrl: string; bearerToken?: string | null }[]; targets?: string[] | null };
  role: 'bl' | 'ven' | null;
}

export interface Change {
  objectType: ObjectType;
  operation: Operation;
  object: StoredObject;
  /** For RESOURCE: the ven it belongs to (MQTT per-ven topics). */
  venId?: string;
}

export async function queueNotifications(q: Queryable, change: Change, mqtt?: { prefix: string }): Promise<number> {
  const { objectType, operation, object } = change;
  const subs = await q.query<SubRow>(
    `SELECT s.id, s.client_id, s.program_id, s.body, c.role FROM openadr_subscription s
     LEFT JOIN openadr_client c ON c.id = s.client_id
     WHERE s.body->'objectOperations' @> $1::jsonb AND ($2::text IS NULL OR s.program_id IS NULL OR s.program_id = $2)
     ORDER BY s.seq`,
    [JSON.stringify([{ objects: [objectType], operations: [operation] }]), object.programId ?? null],
  );
  let n = 0;
  for (const s of subs) {
    const shown = await visibleTargets(q, s, object);
    if (shown === false) continue;
    const notification: Notification = {
      objectType,
      operation,
      object: toWire(object, objectType === 'PROGRAM' || objectType === 'EVENT' ? shown : undefined),
      ...(objectType === 'PROGRAM' || objectType === 'EVENT' ? { targets: shown.length > 0 ? shown : null } : {}),
    };
    for (const op of s.body.objectOperations) {
      if (!op.objects.includes(objectType) || !op.operations.includes(operation)) continue;
      const payload: WebhookPayload = { callbackUrl: op.callbackUrl, bearerToken: op.bearerToken ?? null, notification };
      await enqueue(q, { channel: OPENADR_CHANNEL, target: s.id, action: NOTIFY_ACTION, payload });
      n++;
    }
  }
  if (mqtt) {
    const notification = { objectType, operation, object: toWire(object) };
    const topics = mqttTopicsFor(change);
    if (objectType === 'PROGRAM' || objectType === 'EVENT') {
      // vens/{venID}/programs|events: the vens granted one of the object's targets (all for an untargeted object).
      const vens = await q.query<{ id: string }>(
        `SELECT v.id FROM openadr_ven v WHERE cardinality($1::text[]) = 0 OR v.targets && $1::text[]
           OR EXISTS (SELECT 1 FROM openadr_resource r WHERE r.ven_id = v.id AND r.targets && $1::text[]) ORDER BY v.seq`,
        [object.targets],
      );
      for (const v of vens) topics.push(`vens/${v.id}/${LOWER[objectType]}/${operation.toLowerCase()}`);
    }
    for (const topic of topics) {
      await enqueue(q, { channel: 'mqtt', target: `${mqtt.prefix}/openadr3/${topic}`, action: 'openadr_notification', payload: notification });
    }
  }
  return n;
}

/** false: the subscriber may not see the object; else the object targets it may see. */
async function visibleTargets(q: Queryable, s: SubRow, o: StoredObject): Promise<string[] | false> {
  if (s.role === null) return false; // client deleted
  if (s.role === 'bl') return o.targets;
  if (o.objectType === 'PROGRAM' || o.objectType === 'EVENT') {
    if (o.targets.length === 0) return [];
    const requested = s.body.targets ?? [];
    const granted = (await grantedTargets(q, s.client_id)) ?? [];
    const shown = o.targets.filter((t) => requested.includes(t) && granted.includes(t));
    return shown.length > 0 ? shown : false;
  }
  return o.clientId === s.client_id ? o.targets : false;
}

const LOWER: Record<ObjectType, string> = {
  PROGRAM: 'programs',
  EVENT: 'events',
  REPORT: 'reports',
  SUBSCRIPTION: 'subscriptions',
  VEN: 'vens',
  RESOURCE: 'resources',
};

/** The operation topics of one object family (notifierOperationsTopics), relative to the VTN's topic root. */
export function operationTopics(base: string, withCreate: boolean): { CREATE?: string; UPDATE: string; DELETE: string; ALL: string } {
  return {
    ...(withCreate ? { CREATE: `${base}/create` } : {}),
    UPDATE: `${base}/update`,
    DELETE: `${base}/delete`,
    ALL: `${base}/+`,
  };
}

/** Every topic a change is published to (the topic families of GET /notifiers/mqtt/topics/...). */
export function mqttTopicsFor(c: Change): string[] {
  const op = c.operation.toLowerCase();
  const o = c.object;
  const topics = [`${LOWER[c.objectType]}/${op}`];
  if (c.objectType === 'PROGRAM' && c.operation !== 'CREATE') topics.push(`programs/${o.id}/${op}`);
  if (c.objectType === 'EVENT' && o.programId) topics.push(`programs/${o.programId}/events/${op}`);
  if (c.objectType === 'VEN' && c.operation !== 'CREATE') topics.push(`vens/${o.id}/${op}`);
  if (c.objectType === 'RESOURCE' && c.venId) topics.push(`vens/${c.venId}/resources/${op}`);
  return topics;
}
