import assert from 'node:assert/strict';
import { createOpenadrClient } from '../../services/openadr/index.ts';
import { forEachDriver } from '../helpers/db.ts';
import { call, startVtn, type CallOptions, type VtnUnderTest } from '../helpers/openadr-http.ts';
import { checkSpecs, documentedOperations, responseErrors } from '../helpers/openadr-spec.ts';

type Obj = Record<string, unknown> & { id: string };

/** OpenADR 3.0.1 at /openadr/3.0.1 on the same store as 3.1.0; every exchange checked against the 3.0.1 document. */
forEachDriver('OpenADR 3.0.1 VTN (same store as 3.1.0)', (get) => {
  let t: VtnUnderTest;
  let bl = '';
  let ven = '';
  let venClientId = '';
  const v301 = (o: CallOptions = {}): CallOptions => ({ ...o, version: '3.0.1' });

  async function token301(clientId: string, secret: string): Promise<string> {
    const res = await fetch(`${t.base301}/auth/token`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }).toString(),
    });
    const body = (await res.json()) as { access_token: string };
    if (checkSpecs('3.0.1')) {
      assert.deepEqual(responseErrors('3.0.1', 'POST', '/auth/token', res.status, body), []);
      t.served.add('3.0.1 POST /auth/token');
    }
    return body.access_token;
  }

  before(async () => {
    t = await startVtn(get());
    const b = await createOpenadrClient(get(), { name: 'bl', role: 'bl' });
    const v = await createOpenadrClient(get(), { name: 'ven 3.0.1', role: 'ven' });
    venClientId = v.clientId;
    bl = await token301(b.clientId, b.clientSecret);
    ven = await token301(v.clientId, v.clientSecret);
  });
  after(async () => {
    await t?.close();
  });

  let program: Obj;
  let event: Obj;
  let venObj: Obj;

  it('BL writes programs, vens and resources in 3.0.1 form; 3.1.0 sees the same objects with string targets', async () => {
    const p = await call<Obj>(t, 'POST', '/programs', v301({ token: bl, body: { programName: 'TOU-301', programLongName: 'Time of use', targets: [{ type: 'GROUP', values: ['g1'] }, { type: 'SERVICE_AREA', values: ['north'] }] } }));
    assert.equal(p.status, 201);
    program = p.body;
    assert.deepEqual(program.targets, [{ type: 'GROUP', values: ['g1'] }, { type: 'SERVICE_AREA', values: ['north'] }]);
    const same = await call<Obj>(t, 'GET', `/programs/${program.id}`, { token: bl });
    assert.deepEqual(same.body.targets, ['g1', 'SERVICE_AREA:north']);

    const v = await call<Obj>(t, 'POST', '/vens', v301({ token: bl, body: { venName: venClientId, targets: [{ type: 'GROUP', values: ['g1'] }] } }));
    assert.equal(v.status, 201);
    venObj = v.body;
    const r = await call<Obj>(t, 'POST', `/vens/${venObj.id}/resources`, v301({ token: bl, body: { resourceName: 'meter-1' } }));
    assert.equal(r.status, 201);
    assert.equal(r.body.venID, venObj.id);
    const rs = await call<Obj[]>(t, 'GET', `/vens/${venObj.id}/resources`, v301({ token: ven }));
    assert.deepEqual(rs.body.map((x) => x.resourceName), ['meter-1'], 'the VEN named by venName owns the ven');
    assert.equal((await call(t, 'GET', `/vens/${venObj.id}/resources/${r.body.id}`, v301({ token: ven }))).status, 200);
    assert.equal((await call(t, 'GET', `/vens/other-ven/resources/${r.body.id}`, v301({ token: bl }))).status, 404);
    assert.equal((await call(t, 'PUT', `/vens/${venObj.id}/resources/${r.body.id}`, v301({ token: ven, body: { resourceName: 'meter-1b' } }))).status, 200);
    assert.equal((await call(t, 'GET', `/vens/${venObj.id}`, v301({ token: ven }))).status, 200);
    assert.equal((await call(t, 'PUT', `/vens/${venObj.id}`, v301({ token: bl, body: { venName: venClientId, targets: [{ type: 'GROUP', values: ['g1', 'g2'] }] } }))).status, 200);
    assert.equal((await call<Obj[]>(t, 'GET', '/vens', v301({ token: ven }))).body.length, 1);
  });

  it('a VEN reads targeted programs and events with targetType/targetValues, and reports and subscribes in 3.0.1 form', async () => {
    const none = await call<Obj[]>(t, 'GET', '/programs', v301({ token: ven }));
    assert.deepEqual(none.body, [], 'targeted programs need targets in the query');
    const mine = await call<Obj[]>(t, 'GET', '/programs', v301({ token: ven, query: { targetType: 'GROUP', targetValues: ['g1'] } }));
    assert.deepEqual(mine.body.map((p) => [p.id, p.targets]), [[program.id, [{ type: 'GROUP', values: ['g1'] }]]], 'target hiding');

    const e = await call<Obj>(t, 'POST', '/events', v301({
      token: bl,
      body: { programID: program.id, targets: [{ type: 'GROUP', values: ['g1'] }], intervalPeriod: { start: '2030-01-01T00:00:00Z', duration: 'PT1H' }, intervals: [{ id: 0, payloads: [{ type: 'PRICE', values: [0.2] }] }] },
    }));
    assert.equal(e.status, 201);
    event = e.body;
    assert.equal((await call(t, 'GET', `/programs/${program.id}`, v301({ token: ven, query: { targetType: 'GROUP', targetValues: 'g1' } }))).status, 200);
    const evs = await call<Obj[]>(t, 'GET', '/events', v301({ token: ven, query: { programID: program.id, targetType: 'GROUP', targetValues: 'g1' } }));
    assert.deepEqual(evs.body.map((x) => x.id), [event.id]);
    assert.equal((await call(t, 'GET', `/events/${event.id}`, v301({ token: ven, query: { targetType: 'GROUP', targetValues: 'g1' } }))).status, 200);
    const upd = await call<Obj>(t, 'PUT', `/events/${event.id}`, v301({ token: bl, body: { programID: program.id, intervals: [{ id: 0, intervalPeriod: { start: '2030-01-01T00:00:00Z', duration: 'PT2H' }, payloads: [{ type: 'PRICE', values: [0.3] }] }] } }));
    assert.equal(upd.status, 200);

    const rep = await call<Obj>(t, 'POST', '/reports', v301({ token: ven, body: { programID: program.id, eventID: event.id, clientName: 'ven-301', resources: [{ resourceName: 'meter-1b', intervals: [{ id: 0, payloads: [{ type: 'USAGE', values: [3.2] }] }] }] } }));
    assert.equal(rep.status, 201);
    assert.equal((await call(t, 'GET', `/reports/${rep.body.id}`, v301({ token: ven }))).status, 200);
    assert.equal((await call(t, 'PUT', `/reports/${rep.body.id}`, v301({ token: ven, body: { programID: program.id, eventID: event.id, clientName: 'ven-301', reportName: 'again', resources: [] } }))).status, 200);
    assert.equal((await call<Obj[]>(t, 'GET', '/reports', v301({ token: bl, query: { eventID: event.id } }))).body.length, 1);
    assert.equal((await call(t, 'DELETE', `/reports/${rep.body.id}`, v301({ token: ven }))).status, 200);

    const sub = await call<Obj>(t, 'POST', '/subscriptions', v301({ token: ven, body: { clientName: 'ven-301', programID: program.id, objectOperations: [{ objects: ['EVENT'], operations: ['CREATE'], callbackUrl: 'https://ven.example.net/cb' }] } }));
    assert.equal(sub.status, 201);
    assert.equal((await call(t, 'GET', `/subscriptions/${sub.body.id}`, v301({ token: ven }))).status, 200);
    assert.equal((await call(t, 'PUT', `/subscriptions/${sub.body.id}`, v301({ token: ven, body: { clientName: 'ven-301b', programID: program.id, objectOperations: [{ objects: ['EVENT'], operations: ['UPDATE'], callbackUrl: 'https://ven.example.net/cb' }] } }))).status, 200);
    assert.equal((await call<Obj[]>(t, 'GET', '/subscriptions', v301({ token: ven }))).body.length, 1);
    assert.equal((await call(t, 'DELETE', `/subscriptions/${sub.body.id}`, v301({ token: ven }))).status, 200);
  });

  it('answers errors as problems: no token, missing scope, oversized page, 3.1.0-only paths', async () => {
    assert.equal((await call(t, 'GET', '/programs', v301())).status, 401);
    assert.equal((await call(t, 'POST', '/programs', v301({ token: ven, body: { programName: 'nope' } }))).status, 403);
    assert.equal((await call(t, 'GET', '/programs', v301({ token: bl, query: { limit: 51 } }))).status, 400);
    const notifiers = await fetch(`${t.base301}/notifiers`, { headers: { Authorization: `Bearer ${bl}` } });
    assert.equal(notifiers.status, 404);
  });

  it('keeps the 3.0.1-only program fields: as 3.1.0 attributes where they map, timeZoneOffset at 3.0.1 only', async () => {
    const fields301 = {
      programLongName: 'Residential Time of Use-A', retailerName: 'ACME', retailerLongName: 'ACME Electric Inc.', programType: 'PRICING_TARIFF',
      country: 'US', principalSubdivision: 'CO', timeZoneOffset: 'PT1H', bindingEvents: true, localPrice: false,
    };
    const created = await call<Obj>(t, 'POST', '/programs', v301({ token: bl, body: { programName: 'TOU-fields', ...fields301, programDescriptions: [{ URL: 'https://acme.example/tou' }] } }));
    assert.equal(created.status, 201);
    const id = created.body.id;
    const pick = (o: Obj) => Object.fromEntries(Object.keys(fields301).map((k) => [k, o[k]]));
    assert.deepEqual(pick(created.body), fields301, 'answered in 3.0.1 form');
    assert.equal(created.body.attributes, undefined, 'mapped attributes are fields in 3.0.1');

    const as310 = (await call<Obj>(t, 'GET', `/programs/${id}`, { token: bl })).body;
    assert.deepEqual(as310.attributes, [
      { type: 'PROGRAM_LONG_NAME', values: ['Residential Time of Use-A'] },
      { type: 'RETAILER_NAME', values: ['ACME'] },
      { type: 'RETAILER_LONG_NAME', values: ['ACME Electric Inc.'] },
      { type: 'PROGRAM_TYPE', values: ['PRICING_TARIFF'] },
      { type: 'COUNTRY', values: ['US'] },
      { type: 'PRINCIPAL_SUBDIVISION', values: ['CO'] },
      { type: 'BINDING_EVENTS', values: [true] },
      { type: 'LOCAL', values: [false] },
    ]);
    assert.equal(as310.timeZoneOffset, undefined, '3.1.0 has no place for it');
    assert.equal(as310.programLongName, undefined);

    assert.deepEqual(pick((await call<Obj>(t, 'GET', `/programs/${id}`, v301({ token: bl }))).body), fields301);
    const listed = (await call<Obj[]>(t, 'GET', '/programs', v301({ token: bl }))).body.find((p) => p.id === id)!;
    assert.deepEqual(pick(listed), fields301, 'and in searches');

    // A 3.0.1 PUT replaces them; a 3.1.0 PUT cannot see timeZoneOffset and leaves it alone.
    const put = await call<Obj>(t, 'PUT', `/programs/${id}`, v301({ token: bl, body: { programName: 'TOU-fields', programLongName: 'Renamed' } }));
    assert.equal(put.body.programLongName, 'Renamed');
    assert.equal(put.body.timeZoneOffset, undefined);
    assert.equal(put.body.retailerName, undefined);
    await call(t, 'PUT', `/programs/${id}`, v301({ token: bl, body: { programName: 'TOU-fields', timeZoneOffset: '-PT5H' } }));
    await call(t, 'PUT', `/programs/${id}`, { token: bl, body: { programName: 'TOU-fields', attributes: [{ type: 'COUNTRY', values: ['NL'] }] } });
    const after = (await call<Obj>(t, 'GET', `/programs/${id}`, v301({ token: bl }))).body;
    assert.equal(after.country, 'NL', 'a 3.1.0 attribute is a 3.0.1 field');
    assert.equal(after.timeZoneOffset, '-PT5H');

    const bad = await call(t, 'POST', '/programs', v301({ token: bl, body: { programName: 'TOU-bad', timeZoneOffset: 'one hour' }, invalidRequest: true }));
    assert.equal(bad.status, 400);
    assert.equal((await call(t, 'POST', '/programs', v301({ token: bl, body: { programName: 'TOU-bad', bindingEvents: 'yes' }, invalidRequest: true }))).status, 400);
    const del = await call<Obj>(t, 'DELETE', `/programs/${id}`, v301({ token: bl }));
    assert.equal(del.body.timeZoneOffset, '-PT5H', 'the deleted program is answered whole');
  });

  it('deletes in 3.0.1 form, and covers every operation of the 3.0.1 document', async function () {
    const [r] = (await call<Obj[]>(t, 'GET', `/vens/${venObj.id}/resources`, v301({ token: bl }))).body;
    assert.equal((await call(t, 'DELETE', `/vens/${venObj.id}/resources/${r!.id}`, v301({ token: bl }))).status, 200);
    assert.equal((await call(t, 'DELETE', `/vens/${venObj.id}`, v301({ token: bl }))).status, 200);
    assert.equal((await call(t, 'DELETE', `/events/${event.id}`, v301({ token: bl }))).status, 200);
    assert.equal((await call(t, 'PUT', `/programs/${program.id}`, v301({ token: bl, body: { programName: 'TOU-301b' } }))).status, 200);
    assert.equal((await call(t, 'DELETE', `/programs/${program.id}`, v301({ token: bl }))).status, 200);
    if (!checkSpecs('3.0.1')) this.skip();
    const missing = documentedOperations('3.0.1').map((o) => `3.0.1 ${o.method} ${o.path}`).filter((o) => !t.served.has(o));
    assert.deepEqual(missing, []);
  });
});
