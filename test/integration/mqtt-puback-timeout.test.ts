/**
 * The outbox's MQTT channel bounds its wait for the PUBACK: against a broker that accepts the
 * connection and the PUBLISH but never acknowledges it (a hung broker, or one whose connection died
 * silently after the PUBLISH), a delivery ends as a retry instead of holding a dispatcher slot for ever.
 * The counterpart is a real TCP socket speaking just enough MQTT 3.1.1 (CONNACK) to get there.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createMqttPublisher } from '../../services/mqtt/mqtt-channel.ts';
import { waitUntil } from '../helpers/wait.ts';

describe('MQTT channel against a broker that never sends PUBACK', () => {
  it('ends the delivery as a retry after pubackTimeoutMs', async () => {
    const sockets = new Set<Socket>();
    let publishes = 0;
    const broker = createServer((s) => {
      sockets.add(s);
      s.on('data', (buf) => {
        // CONNECT (packet type 1) → CONNACK, session not present, accepted; PUBLISH (type 3) → silence.
        if (buf[0]! >> 4 === 1) s.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
        else if (buf[0]! >> 4 === 3) publishes++;
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => broker.listen(0, '127.0.0.1', r));
    const pub = createMqttPublisher({ url: `mqtt://127.0.0.1:${(broker.address() as AddressInfo).port}`, log: pino({ level: 'silent' }), pubackTimeoutMs: 300 });
    try {
      await waitUntil('connected', () => pub.connected());
      const started = Date.now();
      const result = await pub.channel({ id: 1, channel: 'mqtt', target: 'site/1/setpoint', action: 'publish', payload: { kw: 5 }, state: 'in_flight', attempts: 0, createdAt: new Date() });
      assert.deepEqual(result, { outcome: 'retry', error: 'no PUBACK within 300 ms' });
      assert.ok(Date.now() - started >= 250, 'it did wait for the PUBACK');
      assert.ok(publishes >= 1, 'the PUBLISH reached the broker');
    } finally {
      for (const s of sockets) s.destroy();
      await Promise.race([pub.close(), new Promise((r) => setTimeout(r, 1000))]);
      await new Promise<void>((r) => broker.close(() => r()));
    }
  });
});
