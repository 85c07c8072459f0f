/**
 * Installed charging profiles, end to end with independent strict ocpp-rpc clients:
 * GetChargingProfiles + ReportChargingProfiles collected by requestId (2.0.1 / 2.1, K09; none in 1.6),
 * the foreign-profile check after a reconnect, and ClearChargingProfile of gridflex's ids (K10, 1.6 §5.5).
 */
import assert from 'node:assert/strict';
import type { RPCClient } from 'ocpp-rpc';
import { forEachDriver } from '../helpers/db.ts';
import { startTestCsms, type TestCsms } from '../helpers/ocpp-csms.ts';
import { eventually, stationClient } from '../helpers/ocpp-station.ts';
import { areaTopology, startOcppRig, type Obj, type OcppRig, type StationHandlers } from '../builders/ocpp-rig.ts';

const AREA = 'ga-profiles';
const S21 = 'PROF-21';
const S201 = 'PROF-201';
const S16 = 'PROF-16';
const PW = 'installed-profiles-password-1';

const profile = (id: number, purpose: string, stackLevel = 0) => ({
  id,
  stackLevel,
  chargingProfilePurpose: purpose,
  chargingProfileKind: 'Absolute',
  chargingSchedule: [{ id, startSchedule: '2026-01-01T00:00:00Z', chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 11_000 }] }],
});

forEachDriver('OCPP installed charging profiles', (get) => {
  let rig: OcppRig;
  let t: TestCsms;
  let clients: RPCClient[];

  before(async () => {
    rig = await startOcppRig(get(), { nodes: areaTopology(AREA, [S21, S201, S16]), password: PW, env: { OCPP_CALL_TIMEOUT_MS: '1500' } });
    ({ t, clients } = rig);
  });

  after(async () => {
    await rig?.close();
  });

  const connect = (identity: string, version: '1.6' | '2.0.1' | '2.1', handlers: StationHandlers = {}): Promise<RPCClient> =>
    rig.connect(identity, version, { handlers, waitConnected: true });

  describe('GetChargingProfiles / ReportChargingProfiles', () => {
    let c: RPCClient;
    let onGet: (p: Obj) => Obj;
    const asked: Obj[] = [];
    const reportAnswers: unknown[] = [];

    /** Sends the reports after the GetChargingProfiles answer went out, as a station does. */
    function later(reports: Obj[]) {
      setTimeout(() => {
        void (async () => {
          for (const r of reports) reportAnswers.push(await c.call('ReportChargingProfiles', r));
        })();
      }, 20);
    }

    before(async () => {
      c = await connect(S201, '2.0.1', {
        GetChargingProfiles: (p) => {
          asked.push(p);
          return onGet(p);
        },
      });
    });

    it('2.0.1: collects every report of the request (tbc) and tells gridflex’s profiles from foreign ones', async () => {
      onGet = (p) => {
        later([
          { requestId: p.requestId, chargingLimitSource: 'CSO', evseId: 0, tbc: true, chargingProfile: [profile(1, 'ChargingStationMaxProfile'), profile(2, 'TxDefaultProfile')] },
          { requestId: 999_999_999 - 1, chargingLimitSource: 'EMS', evseId: 0, chargingProfile: [profile(77, 'ChargingStationExternalConstraints')] }, // another request: ignored
          { requestId: p.requestId, chargingLimitSource: 'EMS', evseId: 0, tbc: true, chargingProfile: [profile(500, 'ChargingStationExternalConstraints', 3)] },
          { requestId: p.requestId, chargingLimitSource: 'CSO', evseId: 1, tbc: false, chargingProfile: [profile(101, 'TxProfile'), profile(7, 'TxProfile', 1)] },
        ]);
        return { status: 'Accepted' };
      };
      const got = await t.csms.getInstalledProfiles(S201);
      assert.ok(got);
      assert.equal(asked.length, 1);
      assert.deepEqual(asked[0], { requestId: got.requestId, chargingProfile: {} });
      assert.equal(got.supported, true);
      assert.equal(got.status, 'Accepted');
      assert.equal(got.complete, true);
      assert.deepEqual(got.profiles.map((p) => [p.evseId, p.chargingLimitSource, p.profile.id]), [[0, 'CSO', 1], [0, 'CSO', 2], [0, 'EMS', 500], [1, 'CSO', 101], [1, 'CSO', 7]]);
      await eventually(() => reportAnswers.length === 4);
      assert.deepEqual(reportAnswers, [{}, {}, {}, {}]);

      // The same, through the reconnect check: only what gridflex did not install, audited.
      const foreign = await t.csms.checkInstalledProfiles(S201);
      assert.deepEqual(foreign?.map((p) => [p.evseId, p.chargingLimitSource, p.profile.id]), [[0, 'EMS', 500], [1, 'CSO', 7]]);
      const audits = await get().query<{ detail: { profiles: { id: number }[]; complete: boolean } }>(`SELECT detail FROM audit_log WHERE action = 'ocpp.ForeignProfiles' AND subject = $1`, [S201]);
      assert.equal(audits.length, 1);
      assert.deepEqual(audits[0]!.detail.profiles.map((p) => p.id), [500, 7]);
    });

    it('2.0.1: passes evseId and the criterion; NoProfiles gives an empty, complete answer', async () => {
      onGet = () => ({ status: 'NoProfiles' });
      const got = await t.csms.getInstalledProfiles(S201, { evseId: 0, criterion: { chargingLimitSource: ['SO', 'EMS'] } });
      assert.deepEqual(asked.at(-1), { requestId: got?.requestId, evseId: 0, chargingProfile: { chargingLimitSource: ['SO', 'EMS'] } });
      assert.deepEqual(got, { supported: true, status: 'NoProfiles', complete: true, requestId: got?.requestId, profiles: [] });
      assert.deepEqual(await t.csms.checkInstalledProfiles(S201), []);
    });

    it('2.0.1: without the last report the answer is incomplete after the time-out; request ids differ', async () => {
      onGet = (p) => {
        later([{ requestId: p.requestId, chargingLimitSource: 'CSO', evseId: 0, tbc: true, chargingProfile: [profile(1, 'ChargingStationMaxProfile')] }]);
        return { status: 'Accepted' };
      };
      const got = await t.csms.getInstalledProfiles(S201, { reportTimeoutMs: 300 });
      assert.equal(got?.complete, false);
      assert.deepEqual(got?.profiles.map((p) => p.profile.id), [1]);
      const ids = asked.map((a) => a.requestId);
      assert.equal(new Set(ids).size, ids.length);
    });

    it('2.1: the same exchange, validated against the 2.1 schemas', async () => {
      const c21: RPCClient = await connect(S21, '2.1', {
        GetChargingProfiles: (p) => {
          setTimeout(() => void c21.call('ReportChargingProfiles', { requestId: p.requestId, chargingLimitSource: 'LocalEMS', evseId: 0, chargingProfile: [profile(9, 'ChargingStationExternalConstraints')] }), 20);
          return { status: 'Accepted' };
        },
      });
      const foreign = await t.csms.checkInstalledProfiles(S21);
      assert.deepEqual(foreign?.map((p) => [p.chargingLimitSource, p.profile.id]), [['LocalEMS', 9]]);
    });

    it('a station that does not implement it, 1.6, or no connection: nothing to report', async () => {
      const plain = await connect(S21, '2.1');
      assert.equal(plain.protocol, 'ocpp2.1');
      const got = await t.csms.getInstalledProfiles(S21);
      assert.equal(got?.supported, false);
      assert.match(got?.error ?? '', /^NotImplemented: /);
      assert.equal(await t.csms.checkInstalledProfiles(S21), undefined);
      let called = 0;
      await connect(S16, '1.6', {
        GetCompositeSchedule: () => {
          called++;
          return { status: 'Rejected' };
        },
      });
      assert.deepEqual(await t.csms.getInstalledProfiles(S16), { supported: false, complete: true, profiles: [] });
      assert.equal(called, 0);
      assert.equal(await t.csms.getInstalledProfiles('PROF-NOWHERE'), undefined);
    });
  });

  describe('after every connect (checkProfilesOnConnect)', () => {
    it('2.0.1: a connecting station is asked; foreign profiles are audited; shutdown does not wait for missing reports', async () => {
      const t2 = await startTestCsms(get(), { OCPP_CALL_TIMEOUT_MS: '1500' }, { checkProfilesOnConnect: true });
      try {
        await get().query(`DELETE FROM audit_log WHERE action = 'ocpp.ForeignProfiles'`);
        let asked = 0;
        // Handlers before connecting: the CSMS asks right after the connection is set up.
        const station = stationClient({ endpoint: t2.endpoint, identity: S201, password: PW, version: '2.0.1' });
        clients.push(station);
        station.handle('GetChargingProfiles', async ({ params }) => {
          asked++;
          const p = params as Obj;
          setTimeout(() => void station.call('ReportChargingProfiles', { requestId: p.requestId, chargingLimitSource: 'SO', evseId: 0, chargingProfile: [profile(42, 'ChargingStationExternalConstraints', 5)] }), 20);
          return { status: 'Accepted' };
        });
        await station.connect();
        await eventually(async () => (await get().query(`SELECT 1 FROM audit_log WHERE action = 'ocpp.ForeignProfiles' AND subject = $1`, [S201])).length === 1, 10_000);
        assert.equal(asked, 1);
        // A station that accepts and never reports: close() must not wait out the 30 s report time-out.
        const silent = stationClient({ endpoint: t2.endpoint, identity: S21, password: PW, version: '2.1' });
        clients.push(silent);
        let silentAsked = false;
        silent.handle('GetChargingProfiles', async () => {
          silentAsked = true;
          return { status: 'Accepted' };
        });
        await silent.connect();
        await eventually(() => silentAsked, 10_000);
      } finally {
        const started = Date.now();
        await t2.close();
        assert.ok(Date.now() - started < 10_000, 'close() waited for the report time-out');
      }
    });
  });

  describe('ClearChargingProfile', () => {
    it('2.0.1: clears gridflex’s ids (station max, failsafe, one TxProfile per topology EVSE) one by one', async () => {
      const cleared: Obj[] = [];
      await connect(S201, '2.0.1', {
        ClearChargingProfile: (p) => {
          cleared.push(p);
          return { status: p.chargingProfileId === 1 ? 'Accepted' : 'Unknown' };
        },
      });
      const results = await t.csms.clearGridflexProfiles(S201);
      assert.deepEqual(cleared, [{ chargingProfileId: 1 }, { chargingProfileId: 2 }, { chargingProfileId: 101 }, { chargingProfileId: 102 }]);
      assert.deepEqual(results, [{ id: 1, status: 'Accepted' }, { id: 2, status: 'Unknown' }, { id: 101, status: 'Unknown' }, { id: 102, status: 'Unknown' }]);
      const audits = await get().query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'ocpp.ProfilesCleared' AND subject = $1`, [S201]);
      assert.equal(Number(audits[0]!.n), 1);
    });

    it('1.6: uses `id`, with the EVSE ids given (a station already gone from the topology); errors are reported per id', async () => {
      const cleared: Obj[] = [];
      await connect(S16, '1.6', {
        ClearChargingProfile: (p) => {
          cleared.push(p);
          if (p.id === 2) throw Object.assign(new Error('boom'), { rpcErrorCode: 'InternalError' });
          return { status: 'Accepted' };
        },
      });
      const results = await t.csms.clearGridflexProfiles(S16, [3]);
      assert.deepEqual(cleared, [{ id: 1 }, { id: 2 }, { id: 103 }]);
      assert.deepEqual(results?.map((r) => [r.id, r.status]), [[1, 'Accepted'], [2, 'error'], [103, 'Accepted']]);
      assert.match(results?.[1]?.error ?? '', /^InternalError: /);
      assert.equal(await t.csms.clearGridflexProfiles('PROF-NOWHERE'), undefined);
    });
  });
});
