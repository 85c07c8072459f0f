import assert from 'node:assert/strict';
import { callErrorCodeFor, normalizeOutboundFrame } from '../../../grid-adapters/ocpp/error-codes.ts';
import { knownActions } from '../../../services/ocpp/handler-context.ts';
import { handlers16 } from '../../../services/ocpp/handlers-16.ts';
import { handlers201 } from '../../../services/ocpp/handlers-201.ts';
import { notifications16, notifications201 } from '../../../services/ocpp/notifications.ts';
import { hashStationPassword, verifyAgainstHash } from '../../../services/ocpp/station-credentials.ts';
import { assertValidOcpp } from '../../helpers/ocpp-schemas.ts';
import { parseOcppPath } from '../../../services/ocpp/upgrade.ts';

describe('OCPP-J CALLERROR codes per version', () => {
  it('1.6 keeps its original spellings (1.6J errata §5), 2.0.1 uses Table 8 of OCPP-J 2.0.1', () => {
    assert.equal(callErrorCodeFor('1.6', 'FormatViolation'), 'FormationViolation');
    assert.equal(callErrorCodeFor('1.6', 'OccurrenceConstraintViolation'), 'OccurenceConstraintViolation');
    assert.equal(callErrorCodeFor('1.6', 'RpcFrameworkError'), 'GenericError');
    assert.equal(callErrorCodeFor('2.0.1', 'FormationViolation'), 'FormatViolation');
    assert.equal(callErrorCodeFor('2.0.1', 'OccurenceConstraintViolation'), 'OccurrenceConstraintViolation');
    for (const v of ['1.6', '2.0.1'] as const) assert.equal(callErrorCodeFor(v, 'TypeConstraintViolation'), 'TypeConstraintViolation');
  });

  it('rewrites only the code of CALLERROR frames', () => {
    assert.equal(normalizeOutboundFrame('2.0.1', '[4,"m1","OccurenceConstraintViolation","x",{}]'), '[4,"m1","OccurrenceConstraintViolation","x",{}]');
    const call = '[2,"m2","Heartbeat",{"note":"OccurenceConstraintViolation"}]';
    assert.equal(normalizeOutboundFrame('2.0.1', call), call);
    assert.equal(normalizeOutboundFrame('1.6', '[4,"m3","NotSupported","",{}]'), '[4,"m3","NotSupported","",{}]');
    assert.equal(normalizeOutboundFrame('1.6', '[4, broken'), '[4, broken');
  });
});

describe('OCPP connection path', () => {
  it('accepts /ocpp/<percent-encoded id> only', () => {
    assert.deepEqual(parseOcppPath('/ocpp/RDAM%20123', '/ocpp'), { ok: true, stationId: 'RDAM 123' });
    assert.deepEqual(parseOcppPath('/ocpp/CS1?x=1', '/ocpp'), { ok: true, stationId: 'CS1' });
    assert.deepEqual(parseOcppPath('/ocpp/', '/ocpp'), { ok: false, status: 404 });
    assert.deepEqual(parseOcppPath('/ocpp/a/b', '/ocpp'), { ok: false, status: 404 });
    assert.deepEqual(parseOcppPath('/ocppx/a', '/ocpp'), { ok: false, status: 404 });
    assert.deepEqual(parseOcppPath('/ocpp/%E0%A4%A', '/ocpp'), { ok: false, status: 400 });
  });
});

describe('OCPP handler tables', () => {
  it('only handle actions the version defines (the rest: NotSupported / NotImplemented)', () => {
    const known16 = new Set(knownActions('1.6'));
    const known201 = new Set(knownActions('2.0.1'));
    for (const a of Object.keys({ ...handlers16, ...notifications16 })) assert.ok(known16.has(a), `1.6 ${a}`);
    for (const a of Object.keys({ ...handlers201, ...notifications201 })) assert.ok(known201.has(a), `2.0.1 ${a}`);
    for (const a of ['BootNotification', 'Heartbeat', 'StatusNotification', 'Authorize', 'StartTransaction', 'StopTransaction', 'MeterValues']) assert.ok(a in handlers16, a);
    for (const a of ['BootNotification', 'Heartbeat', 'StatusNotification', 'Authorize', 'TransactionEvent', 'NotifyEVChargingNeeds', 'MeterValues']) assert.ok(a in handlers201, a);
  });

  it('acknowledge-only answers are valid responses of their version', () => {
    for (const a of Object.keys(notifications16)) assertValidOcpp('1.6', a, 'conf', a === 'DataTransfer' ? { status: 'UnknownVendorId' } : {});
    for (const a of Object.keys(notifications201)) assertValidOcpp('2.0.1', a, 'conf', a === 'DataTransfer' ? { status: 'UnknownVendorId' } : {});
  });
});

describe('station password hashes', () => {
  it('scrypt$N$r$p$salt$hash with a random salt; verifies only the right password', async () => {
    const a = await hashStationPassword('a-password-of-16+');
    const b = await hashStationPassword('a-password-of-16+');
    assert.match(a, /^scrypt\$16384\$8\$1\$[^$]+\$[^$]+$/);
    assert.notEqual(a, b);
    assert.equal(await verifyAgainstHash(a, 'a-password-of-16+'), true);
    assert.equal(await verifyAgainstHash(a, Buffer.from('a-password-of-16+')), true);
    assert.equal(await verifyAgainstHash(a, 'a-password-of-16-'), false);
    assert.equal(await verifyAgainstHash('plain', 'x'), false);
    assert.equal(await verifyAgainstHash('scrypt$99999999$8$1$AAAA$AAAA', 'x'), false);
  });

  it('refuses passwords shorter than 16 characters', async () => {
    await assert.rejects(hashStationPassword('fifteen-chars-!'), /at least 16/);
    await assert.rejects(hashStationPassword(Buffer.alloc(15)), /at least 16/);
  });
});
