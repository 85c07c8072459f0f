import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { Aedes, type Client } from 'aedes';

/**
 * Who may read which topics under a protected prefix (e.g. `<MQTT_TOPIC_PREFIX>/openadr3`): clients
 * that log in with credentials of a protocol (OpenADR bearer tokens, services/openadr/mqtt-acl.ts)
 * get a principal; subscriptions and deliveries under the prefix are checked against it.
 */
export interface BrokerAuthority<P = unknown> {
  prefix: string;
  /** The principal for these credentials, or null to refuse the connection. */
  authenticate(username: string | undefined, password: string): Promise<P | null>;
  /** Before a subscription under the prefix (async: may refresh what the principal owns). */
  maySubscribe(principal: P, filter: string): Promise<boolean>;
  /** Before each delivery of a message under the prefix (sync, from what maySubscribe learnt). */
  mayReceive(principal: P, topic: string): boolean;
}

export interface EmbeddedBroker {
  url: string;
  /** Credentials of gridflex's own client: the only one allowed to publish under the topic prefix. */
  internalUser: { username: string; password: string };
  /** Installs the ACL of a protected topic prefix (the OpenADR VTN's notifier topics). */
  setAuthority<P>(a: BrokerAuthority<P>): void;
  close(): Promise<void>;
}

interface ClientState {
  gridflexInternal?: boolean;
  principal?: unknown;
}
const stateOf = (client: Client | null): ClientState => (client ?? {}) as ClientState;

/** Whether an MQTT topic filter can match a topic under `prefix` (levels compared with + and #). */
export function filterReaches(filter: string, prefix: string): boolean {
  const f = filter.split('/');
  const p = prefix.split('/');
  for (let i = 0; i < p.length; i++) {
    if (f[i] === '#') return true;
    if (f[i] === undefined) return false;
    if (f[i] !== '+' && f[i] !== p[i]) return false;
  }
  return true;
}

/**
 * The default broker when MQTT_URL is unset: aedes on its own port (not 1883, which a system broker
 * may hold), bound to loopback. Only gridflex publishes under the topic prefix, so a stray client
 * cannot forge setpoints. Anyone local may subscribe outside a protected prefix; under it
 * (OpenADR notifier topics, Definitions, Security, MQTT: "A VTN MUST configure, and enforce, access to
 * the MQTT broker's topics in accordance with its security and access policy") a subscription is
 * refused (SUBACK 0x80) unless the authority allows it, and a message is delivered to a wildcard
 * subscriber only when the authority allows that topic.
 */
export async function startEmbeddedBroker(opts: { port: number; host?: string; topicPrefix: string }): Promise<EmbeddedBroker> {
  const internalUser = { username: 'gridflex', password: randomBytes(18).toString('base64url') };
  let authority: BrokerAuthority | undefined;
  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const refuse = () => done(Object.assign(new Error('bad username or password'), { returnCode: 4 as const }), false);
      if (username === undefined && password === undefined) return done(null, true);
      if (username === internalUser.username && password?.toString() === internalUser.password) {
        // remembered on the connection so authorizePublish can tell gridflex's own client apart
        stateOf(client).gridflexInternal = true;
        return done(null, true);
      }
      if (!authority || password === undefined) return refuse();
      authority.authenticate(username, password.toString()).then(
        (p) => {
          if (p === null) return refuse();
          stateOf(client).principal = p;
          done(null, true);
        },
        () => refuse(),
      );
    },
    authorizePublish: (client, packet, cb) => {
      if (packet.topic.startsWith(opts.topicPrefix + '/') && !stateOf(client).gridflexInternal) return cb(new Error('publishing under the gridflex prefix is reserved'));
      cb(null);
    },
    authorizeSubscribe: (client, sub, cb) => {
      const s = stateOf(client);
      // An exact or narrow filter under the protected prefix needs the authority's yes; a broad
      // wildcard that merely reaches into it (e.g. '#') is accepted and filtered per message below.
      if (s.gridflexInternal || !authority || !filterReaches(sub.topic, authority.prefix)) return cb(null, sub);
      if (!sub.topic.startsWith(authority.prefix + '/')) return cb(null, sub);
      if (s.principal === undefined) return cb(null, null);
      authority.maySubscribe(s.principal, sub.topic).then(
        (ok) => cb(null, ok ? sub : null),
        () => cb(null, null),
      );
    },
    authorizeForward: (client, packet) => {
      const s = stateOf(client);
      if (!authority || s.gridflexInternal || !packet.topic.startsWith(authority.prefix + '/')) return packet;
      return s.principal !== undefined && authority.mayReceive(s.principal, packet.topic) ? packet : null;
    },
  });
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    internalUser,
    setAuthority(a) {
      authority = a as BrokerAuthority;
    },
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}
