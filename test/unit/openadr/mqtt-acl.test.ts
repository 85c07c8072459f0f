import assert from 'node:assert/strict';
import type { Scope } from '../../../grid-adapters/openadr3/index.ts';
import { filterReaches } from '../../../services/mqtt/embedded-broker.ts';
import { mayRead, type MqttPrincipal } from '../../../services/openadr/mqtt-acl.ts';
import { programFrom301, programTo301 } from '../../../services/openadr/vtn-301.ts';

const principal = (role: 'bl' | 'ven', scopes: Scope[], venIds: string[] = [], programIds: string[] = []): MqttPrincipal => ({
  clientId: 'c', role, scopes: new Set(scopes), venIds: new Set(venIds), programIds: new Set(programIds),
});

describe('OpenADR MQTT topic policy', () => {
  const ven = principal('ven', ['read_targets', 'read_ven_objects'], ['v1'], ['p1']);
  const blOnly = principal('bl', ['read_bl']);
  const bl = principal('bl', ['read_all', 'read_bl']);

  it('a VEN reads its own ven topics and the programs it may read, nothing else', () => {
    assert.equal(mayRead(ven, 'vens/v1/update'), true);
    assert.equal(mayRead(ven, 'vens/v1/events/+'), true);
    assert.equal(mayRead(ven, 'vens/v1/#'), true);
    assert.equal(mayRead(ven, 'vens/v2/events/create'), false);
    assert.equal(mayRead(ven, 'vens/+/events/create'), false);
    assert.equal(mayRead(ven, 'vens/#'), false);
    assert.equal(mayRead(ven, 'programs/p1/update'), true);
    assert.equal(mayRead(ven, 'programs/p2/update'), false);
    assert.equal(mayRead(ven, 'programs/p1/events/create'), false);
    assert.equal(mayRead(ven, 'programs/create'), false);
    assert.equal(mayRead(ven, 'programs/+/update'), false);
    assert.equal(mayRead(ven, 'reports/create'), false);
    assert.equal(mayRead(ven, '#'), false);
  });

  it('BL: read_bl families, read_all programs, both everything', () => {
    assert.equal(mayRead(blOnly, 'reports/+'), true);
    assert.equal(mayRead(blOnly, 'vens/create'), true);
    assert.equal(mayRead(blOnly, 'programs/create'), false);
    assert.equal(mayRead(bl, '#'), true);
    assert.equal(mayRead(bl, 'programs/p9/events/delete'), true);
  });

  it('knows which filters reach into a protected prefix', () => {
    assert.equal(filterReaches('#', 'gf/openadr3'), true);
    assert.equal(filterReaches('gf/#', 'gf/openadr3'), true);
    assert.equal(filterReaches('+/openadr3/x', 'gf/openadr3'), true);
    assert.equal(filterReaches('gf/setpoints/#', 'gf/openadr3'), false);
    assert.equal(filterReaches('gf', 'gf/openadr3'), false);
  });
});

describe('OpenADR 3.0.1 program fields ↔ 3.1.0 attributes', () => {
  it('maps fields to attributes and back, keeping timeZoneOffset and other attributes', () => {
    const { body, only301 } = programFrom301({ programName: 'p', programLongName: 'Long', localPrice: true, timeZoneOffset: 'PT2H', attributes: [{ type: 'GRIDFLEX_NODE', values: ['n1'] }, { type: 'PROGRAM_LONG_NAME', values: ['old'] }] });
    assert.deepEqual(body, { programName: 'p', attributes: [{ type: 'GRIDFLEX_NODE', values: ['n1'] }, { type: 'PROGRAM_LONG_NAME', values: ['Long'] }, { type: 'LOCAL', values: [true] }] });
    assert.deepEqual(only301, { timeZoneOffset: 'PT2H' });
    assert.deepEqual(programTo301({ objectType: 'PROGRAM', ...body }, only301), {
      objectType: 'PROGRAM', programName: 'p', attributes: [{ type: 'GRIDFLEX_NODE', values: ['n1'] }], programLongName: 'Long', localPrice: true, timeZoneOffset: 'PT2H',
    });
    assert.throws(() => programFrom301({ programName: 'p', country: '' }), /country/);
    assert.throws(() => programFrom301({ programName: 'p', timeZoneOffset: '2h' }), /timeZoneOffset/);
    assert.deepEqual(programFrom301({ programName: 'p', retailerName: null }).body, { programName: 'p' }, 'null is absent');
  });
});
