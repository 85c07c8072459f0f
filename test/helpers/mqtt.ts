import { connect } from 'node:net';

export const MQTT_TEST_URL = process.env.MQTT_TEST_URL ?? 'mqtt://127.0.0.1:1883';
let available: Promise<boolean> | undefined;

/** Whether the real Mosquitto answers; in CI it is required, elsewhere tests fall back to the embedded broker. */
export function mosquittoAvailable(): Promise<boolean> {
  available ??= new Promise<boolean>((resolve) => {
    const u = new URL(MQTT_TEST_URL);
    const s = connect({ host: u.hostname, port: Number(u.port || 1883) });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(2000, () => done(false));
  }).then((ok) => {
    if (!ok && process.env.CI) throw new Error(`CI requires Mosquitto at ${MQTT_TEST_URL}`);
    if (!ok) console.warn(`note: no MQTT broker at ${MQTT_TEST_URL}; using the embedded aedes broker`);
    return ok;
  });
  return available;
}
