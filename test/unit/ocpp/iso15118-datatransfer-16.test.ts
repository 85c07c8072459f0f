import assert from 'node:assert/strict';
import {
  ISO15118_VENDOR_ID,
  openIso15118DataTransfer,
  sealIso15118Answer,
  validate201,
} from '../../../grid-adapters/ocpp/iso15118-datatransfer-16.ts';
import { assertValidOcpp } from '../../helpers/ocpp-schemas.ts';

const needs = { evseId: 1, chargingNeeds: { requestedEnergyTransfer: 'DC', dcChargingParameters: { evMaxCurrent: 100, evMaxVoltage: 400 } } };
const dt = (messageId: string | undefined, data: string | undefined, vendorId = ISO15118_VENDOR_ID) => ({
  vendorId,
  ...(messageId === undefined ? {} : { messageId }),
  ...(data === undefined ? {} : { data }),
});

describe('ISO 15118 in an OCPP 1.6 DataTransfer (OCA envelope)', () => {
  it('opens a valid 2.0.1 request, whatever the case of vendorId and messageId (CiString)', () => {
    assert.deepEqual(openIso15118DataTransfer(dt('NotifyEVChargingNeeds', JSON.stringify(needs))), { kind: 'request', action: 'NotifyEVChargingNeeds', payload: needs });
    const upper = openIso15118DataTransfer(dt('NOTIFYEVCHARGINGNEEDS', JSON.stringify(needs), ISO15118_VENDOR_ID.toUpperCase()));
    assert.equal(upper.kind === 'request' && upper.action, 'NotifyEVChargingNeeds');
  });

  it('answers another vendor UnknownVendorId and another message UnknownMessageId, without data (1.6 §4.3)', () => {
    for (const [req, status] of [
      [dt('NotifyEVChargingNeeds', JSON.stringify(needs), 'com.example'), 'UnknownVendorId'],
      [dt('Authorize', '{}'), 'UnknownMessageId'],
      [dt(undefined, '{}'), 'UnknownMessageId'],
    ] as const) {
      const opened = openIso15118DataTransfer(req);
      assert.deepEqual(opened, { kind: 'answer', conf: { status } });
      assertValidOcpp('1.6', 'DataTransfer', 'conf', (opened as { conf: object }).conf);
    }
  });

  it('rejects a missing, non-JSON or schema-invalid payload, naming the problem in 2.0.1 terms', () => {
    const problem = (data: string | undefined) => {
      const o = openIso15118DataTransfer(dt('NotifyEVChargingNeeds', data));
      assert.equal(o.kind, 'answer');
      const conf = (o as { conf: { status: string; data?: string } }).conf;
      assert.equal(conf.status, 'Rejected');
      assertValidOcpp('1.6', 'DataTransfer', 'conf', conf);
      return JSON.parse(conf.data!) as { errorCode: string; description: string };
    };
    assert.equal(problem(undefined).errorCode, 'OccurrenceConstraintViolation');
    assert.equal(problem('{').errorCode, 'FormatViolation');
    assert.equal(problem('[]').errorCode, 'TypeConstraintViolation');
    assert.match(problem(JSON.stringify({ evseId: 1 })).description, /chargingNeeds/);
    assert.equal(problem(JSON.stringify({ ...needs, chargingNeeds: { requestedEnergyTransfer: 'Warp' } })).errorCode, 'FormatViolation');
  });

  it('seals a valid 2.0.1 response as Accepted with the JSON in data, and refuses an invalid one', () => {
    const conf = sealIso15118Answer('NotifyEVChargingNeeds', { status: 'Processing' });
    assert.deepEqual(conf, { status: 'Accepted', data: '{"status":"Processing"}' });
    assertValidOcpp('1.6', 'DataTransfer', 'conf', conf);
    assert.throws(() => sealIso15118Answer('NotifyEVChargingSchedule', { status: 'Maybe' }), /schema/);
    assert.equal(validate201('NotifyEVChargingSchedule', 'conf', { status: 'Rejected', statusInfo: { reasonCode: 'ExceedsLimits' } }), undefined);
  });
});
