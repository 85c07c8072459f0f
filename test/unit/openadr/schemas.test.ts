import assert from 'node:assert/strict';
import { EventRequest, ProgramRequest, ReportRequest, SubscriptionRequest, VenRequest } from '../../../grid-adapters/openadr3/index.ts';
import { tokenSecret } from '../../../services/openadr/auth.ts';
import { requestErrors, schemaErrors } from '../../helpers/openadr-spec.ts';
import { requireSpecsOrSkip } from '../../helpers/specs.ts';

/** Request bodies from the 3.1.0 Definitions and User Guide (objectType added where 3.1.0 requires it). */
const SAMPLES: { path: string; zod: { safeParse(v: unknown): { success: boolean } }; ok: unknown[]; bad: unknown[] }[] = [
  {
    path: '/programs',
    zod: ProgramRequest,
    ok: [{ programName: 'ResTOU' }, { programName: 'p', intervalPeriod: { start: '2023-06-15T09:30:00Z', duration: 'P9999Y' }, targets: ['group-1'], programDescriptions: [{ URL: 'https://example.com/p' }] }],
    bad: [{}, { programName: '' }, { programName: 'p', targets: [''] }],
  },
  {
    path: '/events',
    zod: EventRequest,
    ok: [
      { eventName: 'variableIntervalsEvent', programID: '44', intervalPeriod: { start: '2023-02-10T00:00:00.000Z', duration: 'PT1H' }, intervals: [{ id: 0, payloads: [{ type: 'PRICE', values: [0.17] }] }, { id: 1, intervalPeriod: { duration: 'PT2H' }, payloads: [{ type: 'PRICE', values: [0.22] }] }] },
      { programID: '44', payloadDescriptors: [{ objectType: 'EVENT_PAYLOAD_DESCRIPTOR', payloadType: 'PRICE', units: 'KWH', currency: 'USD' }], intervals: [{ id: 0, intervalPeriod: { start: '2025-06-25T00:00:00.000Z', duration: 'PT3H' }, payloads: [{ type: 'PRICE', values: [0.17, 0.03, 0.11] }] }] },
    ],
    bad: [{ eventName: 'no program' }, { programID: '44', intervals: [{ payloads: [] }] }, { programID: '44', duration: 'one hour' }, { programID: '44', priority: -1 }],
  },
  {
    path: '/subscriptions',
    zod: SubscriptionRequest,
    ok: [{ clientName: 'myClient', programID: '44', objectOperations: [{ callbackUrl: 'https://myserver.com/callbacks', operations: ['CREATE', 'UPDATE'], objects: ['EVENT', 'PROGRAM'] }] }],
    bad: [{ clientName: 'x', objectOperations: [{ callbackUrl: 'https://x.example', operations: ['POST'], objects: ['EVENT'] }] }, { clientName: 'x' }],
  },
  {
    path: '/reports',
    zod: ReportRequest,
    ok: [{ eventID: 'e1', clientName: 'ven', resources: [{ resourceName: 'r1', intervals: [{ id: 0, payloads: [{ type: 'USAGE', values: [1.5] }] }] }] }],
    bad: [{ eventID: 'e1', clientName: 'ven' }, { eventID: 'e 1', clientName: 'ven', resources: [] }],
  },
  {
    path: '/vens',
    zod: VenRequest,
    ok: [{ objectType: 'VEN_VEN_REQUEST', venName: 'VEN-999' }, { objectType: 'BL_VEN_REQUEST', venName: 'VEN-1', clientID: 'c1', targets: ['group-1'] }],
    bad: [{ venName: 'no objectType' }, { objectType: 'BL_VEN_REQUEST', venName: 'no client id' }],
  },
];

describe('OpenADR 3.1.0 zod schemas agree with the OpenAPI document', () => {
  before(function () {
    requireSpecsOrSkip(this, 'openadr3', '3.1.0', 'openadr3.yaml');
  });
  for (const s of SAMPLES) {
    it(`POST ${s.path}: accepts and rejects the same samples`, () => {
      for (const v of s.ok) {
        assert.deepEqual(requestErrors('3.1.0', 'POST', s.path, v), [], `document rejects ${JSON.stringify(v)}`);
        assert.ok(s.zod.safeParse(v).success, `zod rejects ${JSON.stringify(v)}`);
      }
      for (const v of s.bad) {
        assert.notDeepEqual(requestErrors('3.1.0', 'POST', s.path, v), [], `document accepts ${JSON.stringify(v)}`);
        assert.equal(s.zod.safeParse(v).success, false, `zod accepts ${JSON.stringify(v)}`);
      }
    });
  }
  it('problem and notification schemas load (nullable and exclusiveMaximum converted)', () => {
    assert.deepEqual(schemaErrors('3.1.0', 'problem', { title: 'Not Found', status: 404, detail: 'x' }), []);
    assert.notDeepEqual(schemaErrors('3.1.0', 'problem', { status: 600 }), []);
  });
  it('the 3.0.1 document compiles with the same conversion', function () {
    requireSpecsOrSkip(this, 'openadr3', '3.0.1', 'openadr3.yaml');
    assert.deepEqual(requestErrors('3.0.1', 'POST', '/programs', { programName: 'p', programLongName: null }), []);
  });
});

describe('OpenADR token key', () => {
  it('fails closed in production without OPENADR_TOKEN_SECRET; generates one per start in development', () => {
    assert.throws(() => tokenSecret({ NODE_ENV: 'production' }), /OPENADR_TOKEN_SECRET/);
    assert.throws(() => tokenSecret({ NODE_ENV: 'development', GRIDFLEX_REQUIRE_SECRETS: true }), /OPENADR_TOKEN_SECRET/);
    const dev = tokenSecret({ NODE_ENV: 'development' });
    assert.equal(dev.generated, true);
    assert.equal(dev.key.length, 32);
    assert.equal(tokenSecret({ NODE_ENV: 'production', OPENADR_TOKEN_SECRET: 'x'.repeat(32) }).generated, false);
  });
});
