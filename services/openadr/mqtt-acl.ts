import type { Scope } from '../../grid-adapters/openadr3/index.ts';
import type { BrokerAuthority } from '../mqtt/embedded-broker.ts';
import type { Queryable } from '../store/db.ts';
import type { OpenadrPrincipal, TokenIssuer } from './auth.ts';
import { grantedTargets } from './vtn-store.ts';

/**
 * Who may read which OpenADR notifier topic on the MQTT broker. The policy is the one of the topic
 * discovery operations of the 3.1.0 document (GET /notifiers/mqtt/topics/..., their scopes):
 * - programs/…, programs/{id}/events/… — read_all (BL): these carry every program and every event of
 *   a program whatever its targets, and MQTT has no response filtering (Definitions), so a VEN may not
 *   read them (the discovery operations, whose document also allows any bearer token, still list
 *   them to VENs; the broker is where privacy is enforced);
 * - programs/{id}/{op} — read_all, or a VEN that may read program {id} (untargeted, or one of its
 *   targets granted to the VEN's ven or resources: Definitions, Object Privacy);
 * - events/…, reports/…, subscriptions/…, vens/{op}, resources/… — read_bl (BL);
 * - vens/{venID}/…, vens/{venID}/events|programs|resources/… — read_ven_objects for the client's own
 *   ven, or read_all. This is where a VEN gets its programs and events (Definitions: VEN-scoped
 *   topics); it may never use a wildcard in place of the ven id. Clients log in with
 * OAUTH2_BEARER_TOKEN (Definitions, MQTT Notifier Binding Authentication): any username (e.g. their
 * clientID), the VTN's access token as password; the token's scopes decide.
 */

export interface MqttPrincipal extends OpenadrPrincipal {
  /** The vens this client owns and the programs it may read (refreshed on every subscription). */
  venIds: Set<string>;
  programIds: Set<string>;
}

const has = (p: OpenadrPrincipal, s: Scope) => p.scopes.has(s);
const wild = (level: string | undefined) => level === '+' || level === '#';

/** Whether the principal may read a topic (or a topic filter) given relative to `<prefix>/openadr3/`. */
export function mayRead(p: MqttPrincipal, rel: string): boolean {
  if (has(p, 'read_all') && has(p, 'read_bl')) return true;
  const [family, second, third] = rel.split('/');
  if (wild(family) || family === undefined) return false;
  if (family === 'programs') {
    if (has(p, 'read_all')) return true;
    // programs/{id}/{op} only (not programs/{id}/events/…, nor a wildcard for the id).
    return has(p, 'read_targets') && second !== undefined && !wild(second) && third !== undefined && rel.split('/').length === 3 && p.programIds.has(second);
  }
  if (family === 'vens' && second !== undefined && third !== undefined && !wild(second)) {
    // vens/{venID}/{op} or vens/{venID}/{family}/{op}
    return has(p, 'read_all') || (has(p, 'read_ven_objects') && p.venIds.has(second));
  }
  if (family === 'vens' && wild(second)) return false; // would reach every ven's topics
  return ['events', 'reports', 'subscriptions', 'vens', 'resources'].includes(family) && has(p, 'read_bl');
}

export function openadrMqttAuthority(deps: { db: Queryable; issuer: TokenIssuer; topicRoot: string }): BrokerAuthority<MqttPrincipal> {
  const rel = (topic: string) => topic.slice(deps.topicRoot.length + 1);
  const ownVens = async (clientId: string) =>
    new Set((await deps.db.query<{ id: string }>('SELECT id FROM openadr_ven WHERE client_id = $1', [clientId])).map((r) => r.id));
  const readablePrograms = async (clientId: string) => {
    const granted = (await grantedTargets(deps.db, clientId)) ?? [];
    const rows = await deps.db.query<{ id: string }>(`SELECT id FROM openadr_program WHERE cardinality(targets) = 0 OR targets && $1::text[]`, [granted]);
    return new Set(rows.map((r) => r.id));
  };
  const refresh = async (p: MqttPrincipal) => {
    p.venIds = await ownVens(p.clientId);
    p.programIds = p.role === 'bl' ? new Set() : await readablePrograms(p.clientId);
  };
  return {
    prefix: deps.topicRoot,
    async authenticate(_username, password) {
      try {
        const p: MqttPrincipal = { ...(await deps.issuer.verify(deps.db, password)), venIds: new Set(), programIds: new Set() };
        await refresh(p);
        return p;
      } catch {
        return null;
      }
    },
    async maySubscribe(p, filter) {
      await refresh(p);
      return mayRead(p, rel(filter));
    },
    mayReceive(p, topic) {
      return mayRead(p, rel(topic));
    },
  };
}

/**
 * A Mosquitto ACL file (mosquitto.conf `acl_file`) with the same policy, for an external broker: one
 * `user` block per OpenADR client (its client id as MQTT username — the broker must check the
 * password, the access token, e.g. with a JWT auth plugin). Generated from the clients and vens in
 * the database (`gridflex openadr-mqtt-acl`); regenerate after adding vens.
 */
export async function mosquittoAcl(q: Queryable, topicRoot: string, publisher: string): Promise<string> {
  const clients = await q.query<{ id: string; scopes: string[]; revoked: boolean }>('SELECT id, scopes, revoked FROM openadr_client ORDER BY created_at, id');
  const vens = await q.query<{ id: string; client_id: string }>('SELECT id, client_id FROM openadr_ven ORDER BY seq');
  const lines = [
    `# OpenADR 3 notifier topics of gridflex (generated; per-client rules after the 3.1.0 topic discovery scopes)`,
    `# Anonymous clients get nothing under ${topicRoot}.`,
    ``,
    `user ${publisher}`,
    `topic readwrite ${topicRoot}/#`,
  ];
  for (const c of clients) {
    if (c.revoked) continue;
    const s = new Set(c.scopes);
    lines.push('', `user ${c.id}`);
    if (s.has('read_all') && s.has('read_bl')) {
      lines.push(`topic read ${topicRoot}/#`);
      continue;
    }
    if (s.has('read_all')) lines.push(`topic read ${topicRoot}/programs/#`);
    if (s.has('read_bl')) for (const f of ['events', 'reports', 'subscriptions', 'resources']) lines.push(`topic read ${topicRoot}/${f}/#`);
    if (s.has('read_bl')) lines.push(`topic read ${topicRoot}/vens/+`);
    if (s.has('read_ven_objects')) for (const v of vens.filter((x) => x.client_id === c.id)) lines.push(`topic read ${topicRoot}/vens/${v.id}/#`);
    if (s.has('read_targets')) {
      const granted = (await grantedTargets(q, c.id)) ?? [];
      const programs = await q.query<{ id: string }>(`SELECT id FROM openadr_program WHERE cardinality(targets) = 0 OR targets && $1::text[] ORDER BY seq`, [granted]);
      for (const p of programs) lines.push(`topic read ${topicRoot}/programs/${p.id}/+`);
    }
  }
  return lines.join('\n') + '\n';
}
