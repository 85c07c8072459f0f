import assert from 'node:assert/strict';
import { ingestReadings } from '../../services/ocpp/meter-ingest.ts';
import { listMeasurements } from '../../services/ocpp/measurement-store.ts';
import { findSession, loadActiveDemands, setChargingNeeds, startSession } from '../../services/ocpp/session-store.ts';
import { markConnected } from '../../services/ocpp/station-store.ts';
import { upsertNodes } from '../../services/store/topology-store.ts';
import { forEachDriver } from '../helpers/db.ts';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const MIN = 60_000;
const DEFAULTS = { energyKwh: 30, hours: 8 };

/**
 * Exported energy of a session (Energy.Active.Export.Register, migration 018) and what it does to the
 * planning demand: the V2X SoC moves by delivered − exported since the needs were reported, and the
 * energy still needed grows by what was discharged. Through meter-ingest, as the OCPP handlers store it.
 */
forEachDriver('session exported energy and the V2X SoC', (get) => {
  before(async () => {
    await get().tx(async (q) => {
      await upsertNodes(q, [
        { id: 'ga-x', kind: 'grid_area', parentId: null, importLimitKw: 100 },
        { id: 'st-x', kind: 'station', parentId: 'ga-x' },
        { id: 'ev-x1', kind: 'evse', parentId: 'st-x', maxPowerKw: 11, ocppEvseId: 1 },
        { id: 'ev-x2', kind: 'evse', parentId: 'st-x', maxPowerKw: 11, ocppEvseId: 2 },
      ]);
      await markConnected(q, 'st-x', '2.1', 'test-instance');
    });
  });

  const demandOn = async (evseId: string) => {
    const ds = await get().tx((q) => loadActiveDemands(q, 'ga-x', T0 + 60 * MIN, DEFAULTS));
    const d = ds.find((x) => x.evseId === evseId);
    assert.ok(d, `no demand on ${evseId}`);
    return d;
  };

  it('discharging moves the SoC down and the need up; import and export registers both count', async () => {
    const db = get();
    const { session } = await db.tx((q) => startSession(q, { stationId: 'st-x', evseId: 'ev-x1', transactionId: 'tx-1', startedMs: T0 }));
    const target = { nodeId: 'ev-x1', sessionId: session.id };
    // First readings (Transaction.Begin): the registers' baselines.
    await db.tx((q) => ingestReadings(q, target, [{ timeMs: T0, powerKw: 0, energyWh: 10_000, exportEnergyWh: 2_000 }]));
    await db.tx((q) => setChargingNeeds(q, session.id, { energyKwh: 5, v2x: { maxDischargeKw: 10, minSocKwh: 10, socKwh: 40, capacityKwh: 60 } }));
    assert.equal((await demandOn('ev-x1')).v2g?.socKwh, 40);

    // 1 kWh charged, then 6 kWh discharged at −9.5 kW.
    await db.tx((q) => ingestReadings(q, target, [{ timeMs: T0 + 10 * MIN, powerKw: 6, energyWh: 11_000, exportEnergyWh: 2_000 }]));
    await db.tx((q) => ingestReadings(q, target, [{ timeMs: T0 + 50 * MIN, powerKw: -9.5, energyWh: 11_000, exportEnergyWh: 8_000 }]));
    const s = await db.tx((q) => findSession(q, 'st-x', 'tx-1'));
    assert.equal(s?.energyDeliveredKwh, 1);
    assert.equal(s?.energyExportedKwh, 6);
    const d = await demandOn('ev-x1');
    assert.equal(d.v2g?.socKwh, 35, 'SoC 40 + 1 charged − 6 discharged');
    assert.equal(d.energyKwh, 10, '5 kWh asked + 6 discharged − 1 charged');

    // The measured series is the signed net power.
    const rows = await db.tx((q) => listMeasurements(q, 'ev-x1', 'Power.Active.Import'));
    assert.deepEqual(rows.map((r) => r.value), [0, 6, -9.5]);
  });

  it('a late export reading cannot undo a newer one; new needs re-base the SoC on the exported energy', async () => {
    const db = get();
    const s0 = await db.tx((q) => findSession(q, 'st-x', 'tx-1'));
    const target = { nodeId: 'ev-x1', sessionId: s0!.id };
    await db.tx((q) => ingestReadings(q, target, [{ timeMs: T0 + 20 * MIN, exportEnergyWh: 4_000 }]));
    assert.equal((await db.tx((q) => findSession(q, 'st-x', 'tx-1')))?.energyExportedKwh, 6);

    // The EV renegotiates: SoC now 35 (what gridflex estimated). Then 2 more kWh discharged.
    await db.tx((q) => setChargingNeeds(q, s0!.id, { energyKwh: 10, v2x: { maxDischargeKw: 10, minSocKwh: 10, socKwh: 35, capacityKwh: 60 } }));
    assert.equal((await demandOn('ev-x1')).v2g?.socKwh, 35);
    await db.tx((q) => ingestReadings(q, target, [{ timeMs: T0 + 55 * MIN, powerKw: -9, exportEnergyWh: 10_000 }]));
    const d = await demandOn('ev-x1');
    assert.equal(d.v2g?.socKwh, 33);
    assert.equal(d.energyKwh, 12);
  });

  it('a session that never reports export moves its SoC with the import register alone', async () => {
    const db = get();
    const { session } = await db.tx((q) => startSession(q, { stationId: 'st-x', evseId: 'ev-x2', transactionId: 'tx-2', startedMs: T0, meterStartWh: 500 }));
    await db.tx((q) => setChargingNeeds(q, session.id, { energyKwh: 20, v2x: { maxDischargeKw: 7, minSocKwh: 5, socKwh: 20, capacityKwh: 50 } }));
    await db.tx((q) => ingestReadings(q, { nodeId: 'ev-x2', sessionId: session.id }, [{ timeMs: T0 + 30 * MIN, powerKw: 7, energyWh: 3_500 }]));
    const s = await db.tx((q) => findSession(q, 'st-x', 'tx-2'));
    assert.equal(s?.energyExportedKwh, 0);
    const d = await demandOn('ev-x2');
    assert.equal(d.v2g?.socKwh, 23);
    assert.equal(d.energyKwh, 17);
  });
});
