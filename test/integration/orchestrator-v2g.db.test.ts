import assert from 'node:assert/strict';
import pino from 'pino';
import type { CapacityEnvelope, Horizon } from '../../optimizer/model.ts';
import { loadConfig } from '../../services/config.ts';
import { createMetrics } from '../../services/metrics.ts';
import { createDispatcher } from '../../services/core/outbox-dispatcher.ts';
import { createOrchestrator, type EnvelopeSource } from '../../services/core/orchestrator.ts';
import { createSolver } from '../../services/core/solver.ts';
import { setChargingNeeds, startSession } from '../../services/ocpp/session-store.ts';
import { markConnected } from '../../services/ocpp/station-store.ts';
import { latestRun, setpointsOfRun } from '../../services/store/allocation-store.ts';
import { upsertNodes } from '../../services/store/topology-store.ts';
import { forEachDriver } from '../helpers/db.ts';

const NOW = Date.UTC(2026, 0, 5, 8, 0, 0);

/**
 * V2G from the session store to the stored run: a 2.1 station's V2X session (discharge up to 10 kW, 30 kWh
 * above its V2X minimum), and a grid area asked to export in the first interval (a negative import limit
 * from an envelope source). The run keeps the discharge and its cap per EVSE, and a request the fleet
 * cannot meet is stored, measured and logged as a limit violation instead of failing the run.
 */
forEachDriver('orchestrator with V2G sessions and required export', (get) => {
  before(async () => {
    const db = get();
    await db.tx((q) => upsertNodes(q, [
      { id: 'ga-v2g', kind: 'grid_area', parentId: null, importLimitKw: 100 },
      { id: 'st-v2g', kind: 'station', parentId: 'ga-v2g' },
      { id: 'ev-v2g', kind: 'evse', parentId: 'st-v2g', maxPowerKw: 11, ocppEvseId: 1 },
    ]));
    await db.tx(async (q) => {
      await markConnected(q, 'st-v2g', '2.1', 'test-instance');
      const { session } = await startSession(q, { stationId: 'st-v2g', evseId: 'ev-v2g', transactionId: 'tx-v2g', startedMs: NOW });
      await setChargingNeeds(q, session.id, {
        departureMs: NOW + 4 * 3_600_000, energyKwh: 0,
        v2x: { maxDischargeKw: 10, minSocKwh: 10, socKwh: 40, capacityKwh: 60 },
      });
    });
  });

  async function run(exportKw: number) {
    const required: EnvelopeSource = async (_q, nodeIds, h: Horizon): Promise<CapacityEnvelope[]> =>
      nodeIds.includes('ga-v2g')
        ? [{ nodeId: 'ga-v2g', importKw: Array.from({ length: h.count }, (_, t) => (t === 0 ? -exportKw : null)), exportKw: Array<number | null>(h.count).fill(null) }]
        : [];
    const config = loadConfig({ LOG_LEVEL: 'silent', HORIZON_INTERVALS: '8' });
    const log = pino({ level: 'silent' });
    const metrics = createMetrics();
    const db = get();
    const solver = createSolver({ log, timeLimitSec: 10 });
    const orch = createOrchestrator({ db, log, metrics, config, dispatcher: createDispatcher({ db, log, metrics, config }), solver, envelopeSources: [required], now: () => NOW });
    try {
      const r = await orch.runNow('ga-v2g', 'test');
      assert.ok(r.verified, r.violations.join('; '));
      const stored = await latestRun(db, 'ga-v2g');
      assert.ok(stored);
      const [series] = await setpointsOfRun(db, r.runId, ['ev-v2g']);
      const gauge = (await metrics.limitViolations.get()).values.find((v) => v.labels.grid_area === 'ga-v2g')?.value;
      return { stored, first: series!.points[0]!, gauge };
    } finally {
      await orch.stop();
      await solver.close();
    }
  }

  it('discharges what the grid asks for and stores the EVSE export cap', async () => {
    const { stored, first, gauge } = await run(6);
    assert.deepEqual(stored.limitViolations, []);
    assert.ok(Math.abs(first.kw + 6) < 0.002, `kw ${first.kw}`);
    assert.ok(first.exportCapKw !== undefined && Math.abs(first.exportCapKw - 6) < 0.002, `export cap ${first.exportCapKw}`);
    assert.equal(gauge, 0);
  });

  it('a request beyond the V2G fleet is a stored limit violation, not a failed run', async () => {
    const { stored, first, gauge } = await run(25);
    // at most 10 kW of discharge: 15 kW of the 25 kW asked cannot be given
    assert.ok(Math.abs(first.kw + 10) < 0.002, `kw ${first.kw}`);
    assert.equal(stored.limitViolations.length, 1);
    const [v] = stored.limitViolations;
    assert.equal(v!.nodeId, 'ga-v2g');
    assert.equal(v!.interval, 0);
    assert.ok(Math.abs(v!.excessKw - 15) < 0.002, `excess ${v!.excessKw}`);
    assert.ok(gauge !== undefined && Math.abs(gauge - 15) < 0.002);
  });
});
