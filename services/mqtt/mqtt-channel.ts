import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { ChannelHandler } from '../core/delivery.ts';

export interface MqttPublisher {
  channel: ChannelHandler;
  connected(): boolean;
  close(): Promise<void>;
}

/**
 * Publishes outbox messages of channel 'mqtt' (target = topic) with QoS 1, retained, so a site
 * controller that subscribes later still gets the current setpoints. Acked on PUBACK.
 */
export function createMqttPublisher(opts: { url: string; username?: string; password?: string; log: Logger; clientId?: string }): MqttPublisher {
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
      try {
        await client.publishAsync(msg.target, JSON.stringify(msg.payload), { qos: 1, retain: true });
        return { outcome: 'acked' };
      } catch (err) {
        return { outcome: 'retry', error: err instanceof Error ? err.message : String(err) };
      }
    },
    close: async () => {
      await client.endAsync();
    },
  };
}
