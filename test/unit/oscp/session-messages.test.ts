import assert from 'node:assert/strict';
import {
  OscpMappingError,
  chooseVersion,
  heartbeatMessage,
  ourRequiredBehaviour,
  readRequiredBehaviour,
  registerMessage,
} from '../../../grid-adapters/oscp/index.ts';
import { parseTokenAuthorization } from '../../../services/oscp/oscp-auth.ts';
import { outboxRequestId } from '../../../services/oscp/oscp-channel.ts';
import { hashToken, newToken } from '../../../services/oscp/peer-store.ts';
import { T0 } from '../../helpers/oscp-builders.ts';

describe('OSCP session messages', () => {
  it('picks version 2.0 from the offered version_url list', () => {
    const reg = { token: 't', version_url: [{ version: '1.0', base_url: 'https://a' }, { version: '2.0', base_url: 'https://b' }] };
    assert.equal(chooseVersion(reg)?.base_url, 'https://b');
    assert.equal(chooseVersion({ token: 't', version_url: [{ version: '2.1', base_url: 'https://a' }] }), undefined);
  });

  it('builds our Register and RequiredBehaviour', () => {
    assert.deepEqual(registerMessage('tok', 'https://gf/oscp/fp/2.0'), { token: 'tok', version_url: [{ version: '2.0', base_url: 'https://gf/oscp/fp/2.0' }] });
    assert.deepEqual(ourRequiredBehaviour(300), { heartbeat_interval: 300, measurement_configuration: [] });
  });

  it('reads a RequiredBehaviour: fractions round up, non-positive intervals are refused', () => {
    assert.deepEqual(readRequiredBehaviour({ heartbeat_interval: 7.2, measurement_configuration: ['CONTINUOUS'] }), { heartbeatIntervalS: 8, measurementConfiguration: ['CONTINUOUS'] });
    assert.deepEqual(readRequiredBehaviour({ measurement_configuration: [] }), { heartbeatIntervalS: null, measurementConfiguration: [] });
    for (const bad of [0, -5, 1e12]) assert.throws(() => readRequiredBehaviour({ heartbeat_interval: bad, measurement_configuration: [] }), OscpMappingError);
  });

  it('sets offline_mode_at two intervals ahead in our Heartbeat', () => {
    assert.deepEqual(heartbeatMessage(T0, 60), { offline_mode_at: new Date(T0 + 120_000).toISOString() });
  });
});

describe('OSCP Authorization: Token', () => {
  it('parses the token, scheme case-insensitively', () => {
    assert.equal(parseTokenAuthorization('Token abc.DEF-123_='), 'abc.DEF-123_=');
    assert.equal(parseTokenAuthorization('token abc'), 'abc');
    assert.equal(parseTokenAuthorization('TOKEN  abc '), 'abc');
  });

  it('refuses other schemes and malformed headers', () => {
    for (const h of [undefined, '', 'Token', 'Token ', 'Bearer abc', 'Basic YWJjOmRlZg==', 'Token a b', 'Tokenabc']) assert.equal(parseTokenAuthorization(h), null, String(h));
  });

  it('issues 256-bit URL-safe tokens and stores SHA-256 hex hashes', () => {
    const t = newToken();
    assert.match(t, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(newToken(), t);
    assert.match(hashToken(t), /^[0-9a-f]{64}$/);
    assert.equal(hashToken('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('OSCP outbound X-Request-ID', () => {
  it('is stable for one outbox row and differs between rows', () => {
    const row = { id: 7, createdAt: new Date(T0) };
    assert.equal(outboxRequestId(row), outboxRequestId({ ...row }));
    assert.match(outboxRequestId(row), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.notEqual(outboxRequestId(row), outboxRequestId({ id: 8, createdAt: new Date(T0) }));
    assert.notEqual(outboxRequestId(row), outboxRequestId({ id: 7, createdAt: new Date(T0 + 1) }));
  });
});
