import assert from 'node:assert/strict';
import { loadConfig } from '../../services/config.ts';
import { createLogger } from '../../services/log.ts';
import { createMetrics } from '../../services/metrics.ts';
import {
  checkMeasuredCompliance,
  checkOfflinePeers,
  enqueueMeasurements,
  getOscpPeer,
  oscpTick,
  loadOscpEnvelopes,
  publishCpoForecasts,
  reportPlanCompliance,
  requestCapacityAdjustments,
  setOscpCpoGroup,
} from '../../services/oscp/index.ts';
import { markOnline } from '../../services/oscp/offline.ts';
import { storeHeartbeat } from '../../services/oscp/peer-store.ts';
import type { Db } from '../../services/store/db.ts';
import { saveForecast } from '../../services/store/forecast-store.ts';
import { insertMeasurements } from '../../services/ocpp/measurement-store.ts';
import { setOscpGroup, upsertNodes } from '../../services/store/topology-store.ts';
import { forEachDriver } from '../helpers/db.ts';
import { MIN, Q, T0 } from '../helpers/oscp-builders.ts';
import { aRegisteredPeer, anAllocation } from '../helpers/oscp-fixtures.ts';
import { assertOscpValid, schemaOfEndpoint } from '../helpers/oscp-schemas.ts';

const H = { startMs: T0, intervalMinutes: 15, count: 4 };

async function outbox(db: Db, action: string): Promise<{ target: string; payload: Record<string, unknown> }[]> {
  const rows = await db.query<{ target: string; payload: Record<string, unknown> }>(
    `SELECT target, payload FROM outbox WHERE action = $1 AND state = 'pending' ORDER BY id`,
    [action],
  );
  for (const r of rows) assertOscpValid(schemaOfEndpoint(action), r.payload, `queued ${action}`);
  return rows;
}

async function auditActions(db: Db, subject: string): Promise<string[]> {
  const rows = await db.query<{ action: string }>('SELECT action FROM audit_log WHERE subject = $1 ORDER BY id', [subject]);
  return rows.map((r) => r.action);
}

forEachDriver('OSCP offline mode and reports', (get) => {
  let dso = '';
  let other = '';

  before(async () => {
    const db = get();
    await db.tx((q) =>
      upsertNodes(q, [
        { id: 'ga1', kind: 'grid_area', parentId: null },
        { id: 'cp1', kind: 'connection_point', parentId: 'ga1' },
        { id: 'cpoA', kind: 'cpo', parentId: 'cp1' },
        { id: 'st1', kind: 'station', parentId: 'cpoA' },
        { id: 'e1', kind: 'evse', parentId: 'st1' },
        { id: 'e2', kind: 'evse', parentId: 'st1' },
        { id: 'cp2', kind: 'connection_point', parentId: 'ga1' },
      ]),
    );
    dso = await aRegisteredPeer(db, 'capacity_provider', { name: 'DSO', measurement: ['CONTINUOUS'] });
    other = await aRegisteredPeer(db, 'capacity_provider', { name: 'other DSO' });
    await setOscpGroup(db, 'grp-1', 'cp1', dso);
    await setOscpGroup(db, 'grp-2', 'cp2');
    const src = `oscp:${dso}`;
    await saveForecast(db, { nodeId: 'cp1', source: src, type: 'CONSUMPTION', blocks: [{ startMs: T0, endMs: T0 + 4 * Q, kw: 100 }] });
    await saveForecast(db, { nodeId: 'cp1', source: src, type: 'FALLBACK_CONSUMPTION', blocks: [{ startMs: T0, endMs: T0 + 3 * Q, kw: 20 }] });
    await saveForecast(db, { nodeId: 'cp2', source: `oscp:${other}`, type: 'CONSUMPTION', blocks: [{ startMs: T0, endMs: T0 + 4 * Q, kw: 70 }] });
    await saveForecast(db, { nodeId: 'cp2', source: `oscp:${other}`, type: 'FALLBACK_CONSUMPTION', blocks: [{ startMs: T0, endMs: T0 + 4 * Q, kw: 7 }] });
  });

  describe('offline mode', () => {
    it('flips nothing while no heartbeat promised anything', async () => {
      const r = await checkOfflinePeers(get(), T0 + 10 * MIN);
      assert.deepEqual(r, { gridAreaIds: [], wentOffline: [], cameBack: [] });
    });

    it('flips a DSO into offline mode once its offline_mode_at passed, once, with an audit entry and the gauge at 0', async () => {
      const db = get();
      const metrics = createMetrics();
      await storeHeartbeat(db, dso, T0 + 5 * MIN);
      assert.deepEqual((await checkOfflinePeers(db, T0 + 4 * MIN, { metrics })).wentOffline, []);
      const r = await checkOfflinePeers(db, T0 + 6 * MIN, { metrics });
      assert.deepEqual(r, { gridAreaIds: ['ga1'], wentOffline: [dso], cameBack: [] });
      assert.deepEqual((await checkOfflinePeers(db, T0 + 7 * MIN)).wentOffline, [], 'a second check flips nothing');
      const peer = await getOscpPeer(db, dso);
      assert.equal(peer?.offline, true);
      assert.equal(peer?.offlineSince, T0 + 5 * MIN);
      assert.ok((await auditActions(db, dso)).includes('oscp.peer.offline'));
      const text = await metrics.registry.metrics();
      assert.match(text, new RegExp(`gridflex_oscp_peer_online\\{peer_id="${dso}",role="capacity_provider"\\} 0`));
      assert.match(text, new RegExp(`gridflex_oscp_peer_online\\{peer_id="${other}",role="capacity_provider"\\} 1`));
    });

    it('uses FALLBACK forecasts from the next interval, the safe limit where none covers, and leaves other peers alone', async () => {
      const db = get();
      const envs = await loadOscpEnvelopes(db, ['cp1', 'cp2', 'cpoA'], H);
      const cp1 = envs.find((e) => e.nodeId === 'cp1');
      assert.deepEqual(cp1?.importKw, [100, 20, 20, 100], 'interval 0 (went offline inside it) keeps the forecast; 3 has no fallback');
      assert.deepEqual(envs.find((e) => e.nodeId === 'cp2')?.importKw, [70, 70, 70, 70], 'the other DSO is online');
      const safe = await loadOscpEnvelopes(db, ['cp1'], H, { safeImportKw: 5 });
      assert.deepEqual(safe[0]?.importKw, [100, 20, 20, 5]);
    });

    it('ends offline mode with the next heartbeat, and normal forecasts apply again', async () => {
      const db = get();
      const back = await db.tx(async (q) => {
        await storeHeartbeat(q, dso, T0 + 30 * MIN);
        return markOnline(q, dso, T0 + 8 * MIN);
      });
      assert.deepEqual(back, { gridAreaIds: ['ga1'] });
      assert.equal((await getOscpPeer(db, dso))?.offline, false);
      assert.deepEqual((await loadOscpEnvelopes(db, ['cp1'], H))[0]?.importKw, [100, 100, 100, 100]);
      assert.equal(await db.tx((q) => markOnline(q, dso, T0 + 9 * MIN)), null, 'not offline: nothing to do');
    });

    it('also brings a peer back when its offline_mode_at moved on without markOnline (another instance stored the heartbeat)', async () => {
      const db = get();
      await storeHeartbeat(db, other, T0 + MIN);
      assert.deepEqual((await checkOfflinePeers(db, T0 + 2 * MIN)).wentOffline, [other]);
      assert.deepEqual((await loadOscpEnvelopes(db, ['cp2'], H))[0]?.importKw, [70, 7, 7, 7]);
      await storeHeartbeat(db, other, T0 + 60 * MIN);
      const r = await checkOfflinePeers(db, T0 + 3 * MIN);
      assert.deepEqual(r, { gridAreaIds: ['ga1'], wentOffline: [], cameBack: [other] });
      assert.ok((await auditActions(db, other)).includes('oscp.peer.online'));
    });
  });

  describe('reports to the DSO (gridflex as Flexibility Provider)', () => {
    it('queues UpdateGroupMeasurements per period for a DSO that asked for them, once per period', async () => {
      const db = get();
      // e1 at 8 kW and e2 at 4 kW through the quarter hour [T0+Q, T0+2Q): 12 kW × 0.25 h = 3 kWh
      const rows = [0, 5, 10].flatMap((m) => [
        { timeMs: T0 + Q + m * MIN, nodeId: 'e1', sessionId: null, measurand: 'Power.Active.Import', value: 8, unit: 'kW' },
        { timeMs: T0 + Q + m * MIN, nodeId: 'e2', sessionId: null, measurand: 'Power.Active.Import', value: 4, unit: 'kW' },
      ]);
      await db.tx((q) => insertMeasurements(q, rows));
      assert.equal(await enqueueMeasurements(db, T0 + 2 * Q + 5_000, { intervalS: 900, assets: true }), 2, 'group and asset measurements of the one group of the DSO that asked');
      const [assets] = await outbox(db, 'update_asset_measurements');
      assert.deepEqual(
        (assets?.payload.measurements as { asset_id: string; asset_category: string; energy_measurement: { value: number } }[]).map((m) => [m.asset_id, m.asset_category, m.energy_measurement.value]),
        [['e1', 'CHARGING', 2], ['e2', 'CHARGING', 1]],
      );
      const [m] = await outbox(db, 'update_group_measurements');
      assert.equal(m?.target, dso);
      assert.deepEqual(m?.payload, {
        group_id: 'grp-1',
        measurements: [{ value: 3, phase: 'ALL', unit: 'KWH', direction: 'IMPORT', energy_type: 'FLEXIBLE', measure_time: new Date(T0 + 2 * Q).toISOString(), initial_measure_time: new Date(T0 + Q).toISOString() }],
      });
      assert.equal(await enqueueMeasurements(db, T0 + 2 * Q + 15_000, { intervalS: 900 }), 0, 'the same period is not sent twice');
      assert.equal(await enqueueMeasurements(db, T0 + 4 * Q, { intervalS: 900 }), 1, 'CONTINUOUS: the next two periods, zeros included');
      const all = await outbox(db, 'update_group_measurements');
      assert.deepEqual((all[1]?.payload.measurements as { value: number }[]).map((x) => x.value), [0, 0]);
    });

    it('sends a GroupCapacityComplianceError when the plan exceeds the forecast, once per group and interval', async () => {
      const db = get();
      const alloc = anAllocation(H, (a) => (a.nodeTotalsKw = { cp1: [90, 130, 100, 80], cp2: [1, 1, 1, 1] }));
      assert.equal(await db.tx((q) => reportPlanCompliance(q, { gridAreaId: 'ga1', allocation: alloc, toleranceKw: 1 })), 1);
      assert.equal(await db.tx((q) => reportPlanCompliance(q, { gridAreaId: 'ga1', allocation: alloc, toleranceKw: 1 })), 0);
      const [e] = await outbox(db, 'group_capacity_compliance_error');
      assert.equal(e?.target, dso);
      assert.equal(e?.payload.group_id, 'grp-1');
      assert.match(String(e?.payload.message), /exceeds it by up to 30 kW/);
      assert.deepEqual(e?.payload.forecasted_blocks, [{ capacity: 100, phase: 'ALL', unit: 'KW', start_time: new Date(T0 + Q).toISOString(), end_time: new Date(T0 + 2 * Q).toISOString() }]);
    });

    it('sends a GroupCapacityComplianceError when measured power broke the forecast', async () => {
      const db = get();
      await db.tx((q) =>
        insertMeasurements(q, [{ timeMs: T0 + 3 * Q + MIN, nodeId: 'e1', sessionId: null, measurand: 'Power.Active.Import', value: 130, unit: 'kW' }]),
      );
      assert.equal(await checkMeasuredCompliance(db, T0 + 4 * Q + 1000, { intervalMinutes: 15, toleranceKw: 1 }), 1);
      assert.equal(await checkMeasuredCompliance(db, T0 + 4 * Q + 2000, { intervalMinutes: 15, toleranceKw: 1 }), 0, 'once per interval');
      assert.equal(await checkMeasuredCompliance(db, T0 + 3 * Q + 1000, { intervalMinutes: 15, toleranceKw: 1 }), 0, 'nothing measured in the quarter before');
      const errors = await outbox(db, 'group_capacity_compliance_error');
      assert.match(String(errors[1]?.payload.message), /drew 130 kW/);
    });

    it('asks the DSO for more capacity when demand stays unmet under a binding limit, at most once per period', async () => {
      const db = get();
      const alloc = anAllocation(H, (a) => {
        a.unmet = [{ sessionId: 's1', evseId: 'e1', kwh: 25 }, { sessionId: 's2', evseId: 'elsewhere', kwh: 100 }];
        a.binding = [{ nodeId: 'cp1', interval: 2, kind: 'import' }, { nodeId: 'cp1', interval: 3, kind: 'import' }];
      });
      const args = { gridAreaId: 'ga1', allocation: alloc, nowMs: T0, minUnmetKwh: 10, minIntervalS: 900 };
      assert.equal(await db.tx((q) => requestCapacityAdjustments(q, { ...args, minUnmetKwh: 30 })), 0, 'below the threshold');
      assert.equal(await db.tx((q) => requestCapacityAdjustments(q, args)), 1);
      assert.equal(await db.tx((q) => requestCapacityAdjustments(q, { ...args, nowMs: T0 + MIN })), 0, 'rate-limited');
      const [r] = await outbox(db, 'adjust_group_capacity_forecast');
      // 25 kWh over two quarter hours = +50 kW on 100 kW
      assert.deepEqual(r?.payload, {
        group_id: 'grp-1',
        type: 'CONSUMPTION',
        forecasted_blocks: [{ capacity: 150, phase: 'ALL', unit: 'KW', start_time: new Date(T0 + 2 * Q).toISOString(), end_time: new Date(T0 + 4 * Q).toISOString() }],
      });
    });
  });

  describe('the scheduler tick', () => {
    it('runs offline mode, heartbeats, measurements and measured compliance in one call', async () => {
      const db = get();
      const config = loadConfig({ NODE_ENV: 'test' });
      await db.query('UPDATE oscp_peer SET heartbeat_interval_s = 60 WHERE id = $1', [dso]);
      await storeHeartbeat(db, dso, T0 + 5 * Q);
      await db.tx((q) =>
        insertMeasurements(q, [{ timeMs: T0 + 5 * Q + MIN, nodeId: 'e2', sessionId: null, measurand: 'Power.Active.Import', value: 500, unit: 'kW' }]),
      );
      // 40 s into the interval after T0+5Q: the DSO's offline_mode_at has passed, a heartbeat and two
      // measurement periods are due; the 500 kW measured in [T0+5Q, T0+6Q) breaks no forecast (the DSO's
      // ended at T0+4Q), so no compliance error.
      const r = await oscpTick(db, T0 + 6 * Q + 40_000, { config, log: createLogger('silent') });
      assert.deepEqual(r.gridAreaIds, ['ga1'], 'the DSO went offline');
      assert.equal(r.queued, 1 + 1, 'a heartbeat and a measurement message');
      const again = await oscpTick(db, T0 + 6 * Q + 50_000, { config, log: createLogger('silent') });
      assert.deepEqual(again, { gridAreaIds: [], queued: 0 });
    });
  });

  describe('shares for CPOs (gridflex as Capacity Provider)', () => {
    it('publishes each CPO group’s share and a fallback, and does not repeat an unchanged share', async () => {
      const db = get();
      const cpo = await aRegisteredPeer(db, 'flexibility_provider', { name: 'CPO A' });
      await setOscpCpoGroup(db, { peerId: cpo, groupId: 'A-all', nodeId: 'cpoA' });
      const alloc = anAllocation(H, (a) => (a.nodeTotalsKw = { cpoA: [30, 30, 22, 40] }));
      assert.equal(await db.tx((q) => publishCpoForecasts(q, 'ga1', alloc)), 2);
      assert.equal(await db.tx((q) => publishCpoForecasts(q, 'ga1', alloc)), 0, 'unchanged');
      assert.equal(await db.tx((q) => publishCpoForecasts(q, 'other-area', anAllocation(H, (a) => (a.nodeTotalsKw = { cpoA: [1, 1, 1, 1] })))), 0);
      const sent = await outbox(db, 'update_group_capacity_forecast');
      assert.deepEqual(sent.map((s) => [s.target, s.payload.type, (s.payload.forecasted_blocks as { capacity: number }[]).map((b) => b.capacity)]), [
        [cpo, 'CONSUMPTION', [30, 22, 40]],
        [cpo, 'FALLBACK_CONSUMPTION', [22]],
      ]);
      assert.equal(await db.tx((q) => publishCpoForecasts(q, 'ga1', anAllocation(H, (a) => (a.nodeTotalsKw = { cpoA: [31, 30, 22, 40] })))), 2);
      const superseded = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE action = 'update_group_capacity_forecast' AND state = 'superseded'`);
      assert.equal(Number(superseded[0]!.n), 2, 'a newer share supersedes the undelivered older one');
    });
  });
});
