import assert from 'node:assert/strict';
import { loadConfig } from '../../../services/config.ts';
import { createLogger } from '../../../services/log.ts';
import { openadrVenFromConfig } from '../../../services/openadr/index.ts';
import type { Db } from '../../../services/store/db.ts';

describe('OpenADR VEN client from OPENADR_VEN_* settings', () => {
  const deps = { db: {} as Db, log: createLogger('silent'), onSignalsChanged: () => undefined };
  it('is off without OPENADR_VEN_VTN_URL', () => {
    assert.equal(openadrVenFromConfig(loadConfig({}), deps), undefined);
  });
  it('names what is missing when the VTN URL is set', () => {
    assert.throws(() => openadrVenFromConfig(loadConfig({ OPENADR_VEN_VTN_URL: 'https://vtn.example.net/openadr3' }), deps), /OPENADR_VEN_CLIENT_ID, OPENADR_VEN_CLIENT_SECRET, OPENADR_VEN_NODE_ID are missing/);
  });
  it('builds a client; the callback needs PUBLIC_URL and a callback token', () => {
    const env = { OPENADR_VEN_VTN_URL: 'https://vtn.example.net/openadr3', OPENADR_VEN_CLIENT_ID: 'c', OPENADR_VEN_CLIENT_SECRET: 's', OPENADR_VEN_NODE_ID: 'ga1' };
    assert.ok(openadrVenFromConfig(loadConfig(env), deps));
    assert.throws(() => loadConfig({ ...env, OPENADR_VEN_CALLBACK_TOKEN: 'short' }), /OPENADR_VEN_CALLBACK_TOKEN/);
    assert.ok(openadrVenFromConfig(loadConfig({ ...env, PUBLIC_URL: 'https://gridflex.example.net', OPENADR_VEN_CALLBACK_TOKEN: 'x'.repeat(24) }), deps));
  });
});
