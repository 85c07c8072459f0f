import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  url: string;
  /** Credentials of gridflex's own client: the only one allowed to publish under the topic prefix. */
  internalUser: { username: string; password: string };
  close(): Promise<void>;
}

/**
 * The default broker when MQTT_URL is unset: aedes on its own port (not 1883, which a system broker
 * may hold), bound to loopback. Anyone local may subscribe; only gridflex publishes setpoints, so a
 * stray client cannot forge them.
 */
export async function startEmbeddedBroker(opts: { port: number; host?: string; topicPrefix: string }): Promise<EmbeddedBroker> {
  const internalUser = { username: 'gridflex', password: randomBytes(18).toString('base64url') };
  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      if (username === undefined) return done(null, true);
      const ok = username === internalUser.username && password?.toString() === internalUser.password;
      if (ok) {
        // remembered on the connection so authorizePublish can tell gridflex's own client apart
        (client as unknown as { gridflexInternal?: boolean }).gridflexInternal = true;
        return done(null, true);
      }
      done(Object.assign(new Error('bad username or password'), { returnCode: 4 as const }), false);
    },
    authorizePublish: (client, packet, cb) => {
      const internal = (client as { gridflexInternal?: boolean } | null)?.gridflexInternal === true;
      if (packet.topic.startsWith(opts.topicPrefix + '/') && !internal) return cb(new Error('publishing under the gridflex prefix is reserved'));
      cb(null);
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
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}
