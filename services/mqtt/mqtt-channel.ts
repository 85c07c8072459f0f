import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { ChannelHandler } from '../core/delivery.ts';

export interface MqttPublisher {
  channel: ChannelHandler;
  connected(): boolean;
  close(): Promise<void>;
}

/** How long a publish waits for its PUBACK by default. */
const PUBACK_TIMEOUT_MS = 10_000;

/**
 * Publishes outbox messages of channel 'mqtt' (target = topic) with QoS 1, retained, so a site
 * controller that subscribes later still gets the current setpoints. Acked on PUBACK; no PUBACK within
 * `pubackTimeoutMs` → retry. Without that bound a publish never settled when the connection dropped
 * after the PUBLISH (mqtt.js keeps it in its outgoing store until a reconnect that may never come)
 * and held a slot of the outbox dispatcher. mqtt.js may still deliver that copy after a reconnect: a
 * duplicate of a retained setpoint, which the retry sends again anyway (at least once).
 */
export function createMqttPublisher(opts: { url: string; username?: string; password?: string; log: Logger; clientId?: string; pubackTimeoutMs?: number }): MqttPublisher {
  const pubackTimeoutMs = opts.pubackTimeoutMs ?? PUBACK_TIMEOUT_MS;
  const client: MqttClient = mqtt.connect(opts.url, {
    clientId: opts.clientId ?? `gridflex-internal-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    ...(opts.username ? { username: opts.username } : {}),
    ...(opts.password ? { password: opts.password } : {}),
    reconnectPeriod: 2000,
    connectTimeout: 5000,
  });
  client.on('error', (err) => opts.log.warn({ err: err.message }, 'mqtt client error'));
  client.on('connect', () => opts.log.info({ url: opts.url }, 'mqtt connected'));
  return {
    connected: () => client.connected,
    channel: async (msg) => {
      if (!client.connected) return { outcome: 'unavailable', error: 'mqtt not connected' };
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no PUBACK within ${pubackTimeoutMs} ms`)), pubackTimeoutMs);
      });
      try {
        await Promise.race([client.publishAsync(msg.target, JSON.stringify(msg.payload), { qos: 1, retain: true }), timedOut]);
        return { outcome: 'acked' };
      } catch (err) {
        return { outcome: 'retry', error: err instanceof Error ? err.message : String(err) };
      } finally {
        clearTimeout(timer);
      }
    },
    close: async () => {
      await client.endAsync();
    },
  };
}
