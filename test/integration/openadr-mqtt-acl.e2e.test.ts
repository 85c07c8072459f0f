import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import { createLogger } from '../../services/log.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../services/mqtt/embedded-broker.ts';
import { createMqttPublisher, type MqttPublisher } from '../../services/mqtt/mqtt-channel.ts';
import { createOpenadrClient } from '../../services/openadr/index.ts';
import { mosquittoAcl, openadrMqttAuthority } from '../../services/openadr/mqtt-acl.ts';
import { claimDue, recordAttempt } from '../../services/store/outbox-store.ts';
import { forEachDriver } from '../helpers/db.ts';
import { call, fetchToken, startVtn, type VtnUnderTest } from '../helpers/openadr-http.ts';
import { waitUntil } from '../helpers/wait.ts';

type Obj = Record<string, unknown> & { id: string };
const ROOT = 'gf/openadr3';

/**
 * Per-VEN topic ACLs on the embedded aedes broker, with real MQTT clients: OpenADR clients log in
 * with their access token (OAUTH2_BEARER_TOKEN) and may subscribe only to the topics the notifier
 * discovery gives them; messages go VTN → outbox → gridflex's publisher → broker → subscriber.
 */
forEachDriver('OpenADR MQTT notifier: per-VEN topic ACLs on the embedded broker', (get) => {
  let t: VtnUnderTest;
  let broker: EmbeddedBroker;
  let publisher: MqttPublisher;
  const clients: MqttClient[] = [];
  let bl = '';
  const vens: { token: string; clientId: string; venId: string }[] = [];

  const connect = async (username?: string, password?: string): Promise<MqttClient> => {
    const c = await mqtt.connectAsync(broker.url, { username, password, reconnectPeriod: 0, protocolVersion: 4 });
    clients.push(c);
    return c;
  };
  /** SUBACK granted QoS (128 = refused, MQTT 3.1.1 3.9.3). */
  const subscribe = async (c: MqttClient, topic: string): Promise<number> => {
    try {
      return (await c.subscribeAsync(topic, { qos: 1 }))[0]!.qos;
    } catch (err) {
      // mqtt.js rejects on a refused SUBACK; the packet carries the return codes.
      const granted = (err as { packet?: { granted?: (number | { qos: number })[] } }).packet?.granted;
      if (!granted) throw err;
      const g = granted[0]!;
      return typeof g === 'number' ? g : g.qos;
    }
  };
  const deliverMqttOutbox = async () => {
    for (const row of await claimDue(get(), { channel: 'mqtt', limit: 50, staleMs: 60_000 })) {
      assert.equal((await publisher.channel(row)).outcome, 'acked');
      await recordAttempt(get(), row.id, { state: 'acked', countAttempt: true });
    }
  };

  before(async () => {
    const db = get();
    await db.query(`DELETE FROM outbox WHERE channel = 'mqtt'`);
    broker = await startEmbeddedBroker({ port: 0, topicPrefix: 'gf' });
    t = await startVtn(db, { OPENADR_MQTT_BROKER_URL: broker.url, MQTT_TOPIC_PREFIX: 'gf' });
    broker.setAuthority(openadrMqttAuthority({ db, issuer: t.vtn.issuer, topicRoot: ROOT }));
    publisher = createMqttPublisher({ url: broker.url, log: createLogger('silent'), ...broker.internalUser });
    await waitUntil('the publisher to connect', () => publisher.connected(), 5000);
    const b = await createOpenadrClient(db, { name: 'BL', role: 'bl' });
    bl = String((await fetchToken(t, b.clientId, b.clientSecret)).body.access_token);
    for (const name of ['ven-acl-a', 'ven-acl-b']) {
      const c = await createOpenadrClient(db, { name, role: 'ven' });
      const token = String((await fetchToken(t, c.clientId, c.clientSecret)).body.access_token);
      const v = await call<Obj>(t, 'POST', '/vens', { token, body: { objectType: 'VEN_VEN_REQUEST', venName: name } });
      assert.equal(v.status, 201);
      vens.push({ token, clientId: c.clientId, venId: v.body.id });
    }
    await db.query(`DELETE FROM outbox WHERE channel = 'mqtt'`);
  });
  after(async () => {
    for (const c of clients) await c.endAsync(true);
    await publisher?.close();
    await t?.close();
    await broker?.close();
  });

  it('announces OAUTH2_BEARER_TOKEN and refuses a forged token at CONNECT', async () => {
    const n = await call<{ MQTT: { authentication: unknown } }>(t, 'GET', '/notifiers', { token: vens[0]!.token });
    assert.deepEqual(n.body.MQTT.authentication, { method: 'OAUTH2_BEARER_TOKEN', username: '{clientID}' });
    await assert.rejects(connect('x', 'not-a-token'), /Bad username or password|Not authorized|connack/i);
  });

  it("a VEN may subscribe to its own ven's topics, not to another ven's nor to BL topics (SUBACK 0x80)", async () => {
    const [a, b] = vens;
    const topics = await call<{ topics: Record<string, string> }>(t, 'GET', `/notifiers/mqtt/topics/vens/${a!.venId}/resources`, { token: a!.token });
    const c = await connect(a!.clientId, a!.token);
    assert.equal(await subscribe(c, topics.body.topics.ALL!), 1, 'its own topic (from discovery)');
    assert.equal(await subscribe(c, `${ROOT}/vens/${b!.venId}/resources/+`), 128, "another ven's topic");
    assert.equal(await subscribe(c, `${ROOT}/vens/+/resources/+`), 128, 'a wildcard in place of the ven id');
    assert.equal(await subscribe(c, `${ROOT}/programs/+`), 128, 'read_all topics');
    assert.equal(await subscribe(c, `${ROOT}/reports/create`), 128, 'read_bl topics');
    const open = await call<Obj>(t, 'POST', '/programs', { token: bl, body: { programName: 'acl-open' } });
    const closed = await call<Obj>(t, 'POST', '/programs', { token: bl, body: { programName: 'acl-closed', targets: ['not-granted'] } });
    assert.equal(await subscribe(c, `${ROOT}/programs/${open.body.id}/update`), 1, 'a program it may read');
    assert.equal(await subscribe(c, `${ROOT}/programs/${closed.body.id}/update`), 128, 'a program targeted elsewhere');
    assert.equal(await subscribe(c, `${ROOT}/programs/${open.body.id}/events/+`), 128, "a program's events carry every event's targets");
    const anon = await connect();
    assert.equal(await subscribe(anon, `${ROOT}/vens/${a!.venId}/resources/+`), 128, 'anonymous clients get nothing under the OpenADR root');
    const blClient = await connect('bl', bl);
    assert.equal(await subscribe(blClient, `${ROOT}/#`), 1, 'BL (read_all + read_bl) reads everything');
  });

  it('delivers the notification to its VEN only, even to a broad wildcard subscriber', async () => {
    const [a, b] = vens;
    const c = await connect(a!.clientId, a!.token);
    const snoop = await connect(b!.clientId, b!.token);
    const got: string[] = [];
    const snooped: string[] = [];
    c.on('message', (topic) => got.push(topic));
    snoop.on('message', (topic) => snooped.push(topic));
    assert.equal(await subscribe(c, `${ROOT}/vens/${a!.venId}/resources/+`), 1);
    assert.equal(await subscribe(snoop, '#'), 1, 'accepted, but filtered per message');
    const r = await call<Obj>(t, 'POST', '/resources', { token: a!.token, body: { objectType: 'VEN_RESOURCE_REQUEST', venID: a!.venId, resourceName: 'charger-1' } });
    assert.equal(r.status, 201);
    await deliverMqttOutbox();
    await waitUntil('the VEN to receive its notification', () => got.includes(`${ROOT}/vens/${a!.venId}/resources/create`), 5000);
    // Round trip on the snooping client (a message of its own) so that anything leaked would have arrived.
    await snoop.publishAsync('probe/acl', 'x', { qos: 1 });
    await waitUntil('the probe', () => snooped.includes('probe/acl'), 5000);
    const leaked = snooped.filter((s) => s.startsWith(ROOT) && !s.startsWith(`${ROOT}/vens/${b!.venId}/`));
    assert.deepEqual(leaked, [], "B sees nothing but its own ven's topics (not A's resource, nor the BL-wide families)");
    assert.ok(snooped.includes(`${ROOT}/vens/${b!.venId}/programs/create`), 'B does get the untargeted program on its own topic');
    // The notifications are retained: a late wildcard subscriber gets the stored ones through the same filter.
    const late = await connect(b!.clientId, b!.token);
    const lateGot: string[] = [];
    late.on('message', (topic) => lateGot.push(topic));
    assert.equal(await subscribe(late, '#'), 1);
    await late.publishAsync('probe/late', 'x', { qos: 1 });
    await waitUntil('the late probe', () => lateGot.includes('probe/late'), 5000);
    assert.ok(lateGot.includes(`${ROOT}/vens/${b!.venId}/programs/create`), 'its own retained notification');
    assert.deepEqual(lateGot.filter((s) => s.startsWith(ROOT) && !s.startsWith(`${ROOT}/vens/${b!.venId}/`)), [], 'no retained message of others');
  });

  it('generates the equivalent Mosquitto ACL file from the clients and vens', async () => {
    const acl = await mosquittoAcl(get(), ROOT, 'gridflex');
    const [a, b] = vens;
    const block = (clientId: string) => acl.split('\n\n').find((x) => x.startsWith(`user ${clientId}\n`)) ?? '';
    const [open] = (await call<Obj[]>(t, 'GET', '/programs', { token: bl, query: { programName: 'acl-open' } })).body;
    assert.equal(block(a!.clientId), `user ${a!.clientId}\ntopic read ${ROOT}/vens/${a!.venId}/#\ntopic read ${ROOT}/programs/${open!.id}/+`);
    assert.ok(!block(a!.clientId).includes(b!.venId));
    assert.match(acl, new RegExp(`user gridflex\\ntopic readwrite ${ROOT}/#`));
  });
});
