import assert from 'node:assert/strict';
import { createOpenadrClient } from '../../services/openadr/index.ts';
import { forEachDriver } from '../helpers/db.ts';
import { call, fetchToken, startVtn, type VtnUnderTest } from '../helpers/openadr-http.ts';

type Obj = Record<string, unknown> & { id: string };

forEachDriver('OpenADR 3.1.0 VTN: MQTT notifier and object life cycles', (get) => {
  let t: VtnUnderTest;
  let bl = '';
  let ven = '';
  let venClientId = '';

  before(async () => {
    t = await startVtn(get(), { OPENADR_MQTT_BROKER_URL: 'mqtt://broker.example.net:1883', MQTT_TOPIC_PREFIX: 'gf' });
    const b = await createOpenadrClient(get(), { name: 'bl', role: 'bl' });
    const v = await createOpenadrClient(get(), { name: 'ven', role: 'ven' });
    venClientId = v.clientId;
    bl = String((await fetchToken(t, b.clientId, b.clientSecret)).body.access_token);
    ven = String((await fetchToken(t, v.clientId, v.clientSecret)).body.access_token);
  });
  after(async () => {
    await t?.close();
  });

  async function mqttTopics(): Promise<string[]> {
    const rows = await get().query<{ target: string }>(`SELECT target FROM outbox WHERE channel = 'mqtt' ORDER BY id`);
    await get().query(`DELETE FROM outbox WHERE channel = 'mqtt'`);
    return rows.map((r) => r.target);
  }

  it('announces the MQTT binding and the topic names of every object family', async () => {
    const n = await call<Record<string, unknown>>(t, 'GET', '/notifiers', { token: ven });
    assert.deepEqual(n.body, { WEBHOOK: true, MQTT: { URIS: ['mqtt://broker.example.net:1883'], serialization: 'JSON', authentication: { method: 'OAUTH2_BEARER_TOKEN', username: '{clientID}' } } });
    const p = await call<{ topics: Record<string, string> }>(t, 'GET', '/notifiers/mqtt/topics/programs', { token: bl });
    assert.deepEqual(p.body.topics, { CREATE: 'gf/openadr3/programs/create', UPDATE: 'gf/openadr3/programs/update', DELETE: 'gf/openadr3/programs/delete', ALL: 'gf/openadr3/programs/+' });
    for (const family of ['events', 'reports', 'subscriptions', 'vens', 'resources']) {
      assert.equal((await call(t, 'GET', `/notifiers/mqtt/topics/${family}`, { token: bl })).status, 200);
      assert.equal((await call(t, 'GET', `/notifiers/mqtt/topics/${family}`, { token: ven })).status, 403, 'read_bl');
    }
    assert.equal((await call(t, 'GET', '/notifiers/mqtt/topics/programs/nope', { token: bl })).status, 404);
  });

  it('publishes object operations to those topics through the outbox; per-object and per-ven topics resolve', async () => {
    const v = await call<Obj>(t, 'POST', '/vens', { token: bl, body: { objectType: 'BL_VEN_REQUEST', clientID: venClientId, venName: 'ven-m', targets: ['zone-a'] } });
    const prog = await call<Obj>(t, 'POST', '/programs', { token: bl, body: { programName: 'M-1', targets: ['zone-a'] } });
    await mqttTopics();
    const e = await call<Obj>(t, 'POST', '/events', { token: bl, body: { programID: prog.body.id, targets: ['zone-a'], intervals: [] } });
    assert.deepEqual(await mqttTopics(), ['gf/openadr3/events/create', `gf/openadr3/programs/${prog.body.id}/events/create`, `gf/openadr3/vens/${v.body.id}/events/create`]);
    const one = await call<{ topics: Record<string, string> }>(t, 'GET', `/notifiers/mqtt/topics/programs/${prog.body.id}`, { token: bl });
    assert.equal(one.body.topics.CREATE, undefined, 'no CREATE topic for one object');
    assert.equal(one.body.topics.UPDATE, `gf/openadr3/programs/${prog.body.id}/update`);
    for (const path of [`/notifiers/mqtt/topics/programs/${prog.body.id}/events`, `/notifiers/mqtt/topics/vens/${v.body.id}`, `/notifiers/mqtt/topics/vens/${v.body.id}/events`, `/notifiers/mqtt/topics/vens/${v.body.id}/programs`, `/notifiers/mqtt/topics/vens/${v.body.id}/resources`]) {
      assert.equal((await call(t, 'GET', path, { token: ven })).status, 200, path);
    }
    const del = await call<Obj>(t, 'DELETE', `/programs/${prog.body.id}`, { token: bl });
    assert.equal(del.status, 200);
    const topics = await mqttTopics();
    assert.ok(topics.includes(`gf/openadr3/programs/${prog.body.id}/delete`));
    assert.ok(topics.includes(`gf/openadr3/events/delete`), 'the program took its events with it');
    assert.equal((await call(t, 'GET', `/events/${e.body.id}`, { token: bl })).status, 404);
  });

  it('runs the life cycle of reports, subscriptions, resources and vens', async () => {
    const prog = await call<Obj>(t, 'POST', '/programs', { token: bl, body: { programName: 'M-2' } });
    const ev = await call<Obj>(t, 'POST', '/events', { token: bl, body: { programID: prog.body.id, intervals: [] } });
    const rep = await call<Obj>(t, 'POST', '/reports', { token: ven, body: { eventID: ev.body.id, clientName: 'ven-m', resources: [] } });
    assert.equal((await call<Obj>(t, 'GET', `/reports/${rep.body.id}`, { token: ven })).body.id, rep.body.id);
    const upd = await call<Obj>(t, 'PUT', `/reports/${rep.body.id}`, { token: ven, body: { eventID: ev.body.id, clientName: 'ven-m', reportName: 'r2', resources: [] } });
    assert.equal(upd.body.reportName, 'r2');
    assert.equal((await call(t, 'DELETE', `/reports/${rep.body.id}`, { token: ven })).status, 200);
    assert.equal((await call(t, 'GET', `/reports/${rep.body.id}`, { token: ven })).status, 404);

    const sub = await call<Obj>(t, 'POST', '/subscriptions', { token: ven, body: { clientName: 'ven-m', programID: prog.body.id, objectOperations: [{ objects: ['EVENT'], operations: ['UPDATE'], callbackUrl: 'https://ven.example.net/cb' }] } });
    const subPut = await call<Obj>(t, 'PUT', `/subscriptions/${sub.body.id}`, { token: ven, body: { clientName: 'ven-m2', objectOperations: [{ objects: ['PROGRAM'], operations: ['UPDATE'], callbackUrl: 'https://ven.example.net/cb' }] } });
    assert.equal(subPut.body.clientName, 'ven-m2');
    assert.equal((await call<Obj>(t, 'GET', `/subscriptions/${sub.body.id}`, { token: ven })).status, 200);
    assert.equal((await call(t, 'DELETE', `/subscriptions/${sub.body.id}`, { token: ven })).status, 200);

    const [v] = (await call<Obj[]>(t, 'GET', '/vens', { token: ven, query: { venName: 'ven-m' } })).body;
    assert.ok(v);
    const res = await call<Obj>(t, 'POST', '/resources', { token: bl, body: { objectType: 'BL_RESOURCE_REQUEST', clientID: venClientId, resourceName: 'ev-1', venID: v.id, targets: ['zone-b'] } });
    const resPut = await call<Obj>(t, 'PUT', `/resources/${res.body.id}`, { token: ven, body: { objectType: 'VEN_RESOURCE_REQUEST', resourceName: 'ev-1b', venID: v.id } });
    assert.equal(resPut.status, 200);
    assert.deepEqual(resPut.body.targets, ['zone-b'], 'a VEN update keeps the targets BL granted');
    assert.equal((await call(t, 'DELETE', `/vens/${v.id}`, { token: ven })).status, 200);
    assert.equal((await call(t, 'GET', `/resources/${res.body.id}`, { token: bl })).status, 404, 'resources go with their ven');
  });
});
