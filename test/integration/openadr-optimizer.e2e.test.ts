import assert from 'node:assert/strict';
import { alignToInterval } from '../../optimizer/model.ts';
import { createDispatcher } from '../../services/core/outbox-dispatcher.ts';
import { createOrchestrator, type Orchestrator } from '../../services/core/orchestrator.ts';
import { createSolver } from '../../services/core/solver.ts';
import { createLogger } from '../../services/log.ts';
import { createMetrics } from '../../services/metrics.ts';
import { createOpenadrClient, openadrEnvelopeSource } from '../../services/openadr/index.ts';
import { upsertNodes } from '../../services/store/topology-store.ts';
import { forEachDriver } from '../helpers/db.ts';
import { call, fetchToken, startVtn, type VtnUnderTest } from '../helpers/openadr-http.ts';
import { waitUntil } from '../helpers/wait.ts';

/**
 * Issue 7: "a DR event published on the VTN changes OCPP profiles within the event's first interval".
 * The VTN's onSignalsChanged drives the real orchestrator with openadrEnvelopeSource, as the
 * composition root is to wire it; the allocation it persists (and dispatches) respects the event.
 */
forEachDriver('OpenADR event → orchestrator → setpoints', (get) => {
  let t: VtnUnderTest;
  let orchestrator: Orchestrator;
  const runs: string[] = [];

  before(async () => {
    const db = get();
    await db.tx((q) =>
      upsertNodes(q, [
        { id: 'ga7', kind: 'grid_area', parentId: null },
        { id: 'cp7', kind: 'connection_point', parentId: 'ga7', importLimitKw: 100 },
        { id: 'st7', kind: 'station', parentId: 'cp7' },
        { id: 'e7a', kind: 'evse', parentId: 'st7', maxPowerKw: 22 },
        { id: 'e7b', kind: 'evse', parentId: 'st7', maxPowerKw: 22 },
      ]),
    );
    const started = new Date(Date.now() - 10 * 60_000).toISOString();
    for (const [id, evse] of [['s7a', 'e7a'], ['s7b', 'e7b']]) {
      await db.query(
        `INSERT INTO charging_session (id, station_id, evse_id, transaction_id, started_at, energy_needed_kwh, max_power_kw, departure_at)
         VALUES ($1, 'st7', $2, $1, $3, 80, 22, $4)`,
        [id!, evse!, started, new Date(Date.now() + 8 * 3_600_000).toISOString()],
      );
    }
    const log = createLogger('silent');
    const metrics = createMetrics();
    // What the composition root does with the VTN's callback: re-optimize the grid area.
    t = await startVtn(db, { REALLOCATE_DEBOUNCE_MS: '0', SOLVER_TIME_LIMIT_S: '10', HORIZON_INTERVALS: '16' }, (a) => {
      runs.push(a);
      orchestrator.request(a, 'openadr');
    });
    const dispatcher = createDispatcher({ db, log, metrics, config: t.config });
    orchestrator = createOrchestrator({ db, log, metrics, config: t.config, dispatcher, solver: createSolver({ log, timeLimitSec: 10 }), envelopeSources: [openadrEnvelopeSource] });
  });
  after(async () => {
    await orchestrator?.stop();
    await t?.close();
  });

  it('a 30 kW import limit from now on caps the two 22 kW sessions from the first interval', async () => {
    const b = await createOpenadrClient(get(), { name: 'bl', role: 'bl' });
    const bl = String((await fetchToken(t, b.clientId, b.clientSecret)).body.access_token);
    const p = await call<{ id: string }>(t, 'POST', '/programs', { token: bl, body: { programName: 'cp7 DR', attributes: [{ type: 'GRIDFLEX_NODE', values: ['cp7'] }] } });
    const before = await orchestrator.runNow('ga7', 'baseline');
    assert.ok(before.verified);
    const [base] = await get().query<{ kw: number }>(`SELECT sum(cap_kw)::float8 AS kw FROM setpoint WHERE run_id = $1 GROUP BY start_at ORDER BY start_at LIMIT 1`, [before.runId]);
    assert.ok(base!.kw > 40, `without the event both sessions charge at full power (${base!.kw} kW)`);
    const first = alignToInterval(Date.now(), 15);
    const ev = await call(t, 'POST', '/events', {
      token: bl,
      body: { programID: p.body.id, intervalPeriod: { start: '0001-01-01T00:00:00Z', duration: 'P9999Y' }, intervals: [{ id: 0, payloads: [{ type: 'IMPORT_CAPACITY_LIMIT', values: [30] }] }] },
    });
    assert.equal(ev.status, 201);
    await waitUntil('a run triggered by the event', async () => {
      const r = await get().query<{ n: number }>(`SELECT count(*)::int AS n FROM allocation_run WHERE grid_area_id = 'ga7' AND trigger LIKE '%openadr%'`);
      return Number(r[0]!.n) > 0;
    });
    await orchestrator.idle();
    const [run] = await get().query<{ id: number; node_limits: Record<string, number[]> }>(`SELECT id, node_limits FROM allocation_run WHERE grid_area_id = 'ga7' ORDER BY id DESC LIMIT 1`);
    assert.equal(run!.node_limits.cp7![0], 30, 'the event limit applies from the first interval');
    const sums = await get().query<{ start_at: Date; kw: number }>(`SELECT start_at, sum(cap_kw)::float8 AS kw FROM setpoint WHERE run_id = $1 GROUP BY start_at ORDER BY start_at`, [run!.id]);
    assert.equal(new Date(sums[0]!.start_at).getTime(), first);
    for (const s of sums) assert.ok(s.kw <= 30 + 1e-6, `${s.kw} kW at ${new Date(s.start_at).toISOString()}`);
    assert.ok(runs.includes('ga7'));
  });
});
