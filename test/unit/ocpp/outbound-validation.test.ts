/**
 * An outbox payload is validated once: by the OCPP channel (whose error names our message as the
 * culprit), and not again by ocpp-rpc's strict mode, which still checks everything else.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { RPCServer } from 'ocpp-rpc';
import pino from 'pino';
import { buildStationProfiles } from '../../../grid-adapters/ocpp/profiles.ts';
import { loadConfig } from '../../../services/config.ts';
import { createMetrics } from '../../../services/metrics.ts';
import { createOcppChannel, strictValidators, type CallTarget } from '../../../services/ocpp/ocpp-channel.ts';
import type { OutboxRow } from '../../../services/store/outbox-store.ts';
import { connectStation } from '../../helpers/ocpp-station.ts';

const config = loadConfig({ OCPP_CALL_TIMEOUT_MS: '2000' });

function profileRow(id: number): OutboxRow {
  const horizon = { startMs: Math.floor(Date.now() / 900_000) * 900_000, intervalMinutes: 15, count: 4 };
  const msg = buildStationProfiles({ version: '2.0.1', stationId: 'CS-V', horizon, nowMs: Date.now(), stationCapKw: [5, 6, 7, 8], holdAfterHorizonKw: 5, evses: [] })[0]!;
  return { id, channel: 'ocpp', target: 'CS-V', action: msg.action, payload: msg.payload, state: 'in_flight', attempts: 0, createdAt: new Date() };
}

describe('OCPP outbound validation, once', () => {
  it('strict mode skips exactly the payload object the channel checked, once, for that schema', async () => {
    const v201 = strictValidators().find((v) => v.subprotocol === 'ocpp2.0.1')!;
    const row = profileRow(1);
    const broken = row.payload as { chargingProfile: { stackLevel: unknown } };
    const channel = createOcppChannel({
      // The channel's CALL ends at the strict validator, as ocpp-rpc's _call starts (validate, then send).
      // Spoiling the payload after the channel's check shows that strict mode does not look at it again.
      lookup: (): CallTarget => ({
        version: '2.0.1',
        call: async (method, params) => {
          if (params === broken) broken.chargingProfile.stackLevel = 'not a number';
          v201.validate(`urn:${method}.req`, params);
          return { status: 'Accepted' };
        },
      }),
      config, metrics: createMetrics(), log: pino({ level: 'silent' }),
    });
    assert.deepEqual(await channel(row), { outcome: 'acked', response: { status: 'Accepted' } });
    // One use: the same object seen again (a re-send by the closed-loop check) is validated.
    assert.throws(() => v201.validate('urn:SetChargingProfile.req', broken), /stackLevel|integer/);
    // An object the channel never saw is validated, and an invalid payload is refused by the channel itself.
    const other = profileRow(2);
    (other.payload as { chargingProfile: { stackLevel: unknown } }).chargingProfile.stackLevel = 'x';
    assert.throws(() => v201.validate('urn:SetChargingProfile.req', other.payload));
    const refused = await channel(other);
    assert.equal(refused.outcome, 'rejected');
    assert.match((refused as { error: string }).error, /^payload is not a valid OCPP 2\.0\.1 SetChargingProfile request: .*stackLevel/);
  });

  it('over a real connection: the checked profile reaches the station, other outbound CALLs are still checked by strict mode', async () => {
    const server = new RPCServer({ protocols: ['ocpp2.0.1'], strictMode: true, strictModeValidators: strictValidators(), callConcurrency: 1 });
    type ServerClient = Parameters<Parameters<typeof server.on<'client'>>[1]>[0];
    const connected = new Promise<ServerClient>((resolve) => server.on('client', resolve));
    const http = await server.listen(0, '127.0.0.1');
    const station = await connectStation({ endpoint: `ws://127.0.0.1:${(http.address() as AddressInfo).port}`, identity: 'CS-V', version: '2.0.1' });
    try {
      const received: unknown[] = [];
      station.handle('SetChargingProfile', async ({ params }) => (received.push(params), { status: 'Accepted' }));
      const client = await connected;
      const channel = createOcppChannel({
        lookup: () => ({ version: '2.0.1', call: (method, params, options) => client.call(method, params, options) }),
        config, metrics: createMetrics(), log: pino({ level: 'silent' }),
      });
      const row = profileRow(3);
      assert.equal((await channel(row)).outcome, 'acked');
      assert.deepEqual(received, [row.payload]);
      // Not through the channel: strict mode refuses to send it.
      await assert.rejects(client.call('SetChargingProfile', { evseId: 0, chargingProfile: { id: 'x' } }), (err: Error & { rpcErrorCode?: string }) => typeof err.rpcErrorCode === 'string');
      assert.equal(received.length, 1);
    } finally {
      await station.close({ force: true });
      await server.close({ force: true });
    }
  });
});
