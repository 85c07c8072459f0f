import assert from 'node:assert/strict';
import {
  adjustmentBlocks,
  capacityForecastMessage,
  energyMeasurement,
  oscpSchemasByFile,
  ourRequiredBehaviour,
  seriesToBlocks,
  unmetLimitBlocks,
} from '../../../grid-adapters/oscp/index.ts';
import { requiredBehaviourToward } from '../../../services/oscp/required-behaviour.ts';
import { T0, Q, isoAt } from '../../helpers/oscp-builders.ts';
import { OSCP_SCHEMA_PARTS, assertOscpValid, validateOscp } from '../../helpers/oscp-schemas.ts';
import { requireSpecsOrSkip } from '../../helpers/specs.ts';

const H = { startMs: T0, intervalMinutes: 15, count: 6 };

describe('OSCP 2.0 outbound mappings', () => {
  it('turns a kW series into blocks, joining equal neighbours and leaving out no-limit intervals', () => {
    const blocks = seriesToBlocks(H, [10, 10, 12.0004, null, Infinity, 5]);
    assert.deepEqual(blocks, [
      { capacity: 10, phase: 'ALL', unit: 'KW', start_time: isoAt(T0), end_time: isoAt(T0 + 2 * Q) },
      { capacity: 12, phase: 'ALL', unit: 'KW', start_time: isoAt(T0 + 2 * Q), end_time: isoAt(T0 + 3 * Q) },
      { capacity: 5, phase: 'ALL', unit: 'KW', start_time: isoAt(T0 + 5 * Q), end_time: isoAt(T0 + 6 * Q) },
    ]);
    assert.deepEqual(seriesToBlocks(H, [null, null]), []);
    assert.equal(seriesToBlocks(H, [-3])[0]!.capacity, 0, 'never a negative capacity');
  });

  it('builds an UpdateGroupCapacityForecast valid against the official schema, or none without blocks', () => {
    const m = capacityForecastMessage('cpo-grp', 'CONSUMPTION', H, [1, 2, 3, 3, 3, 3]);
    assert.ok(m);
    assert.equal(m.forecasted_blocks.length, 3);
    assertOscpValid('update-group-capacity-forecast', m);
    assert.equal(capacityForecastMessage('g', 'CONSUMPTION', H, [null, null, null, null, null, null]), undefined);
  });

  it('finds the intervals where a plan exceeds the forecast beyond the tolerance', () => {
    const r = unmetLimitBlocks(H, [5, 11, 12, 9, 30, 0], [10, 10, 10, 10, null, 10], 1);
    assert.ok(r);
    assert.equal(r.firstInterval, 2, '11 kW is within 10 kW + 1 kW tolerance; no limit in interval 4');
    assert.equal(r.worstExcessKw, 2);
    assert.deepEqual(r.blocks, [{ capacity: 10, phase: 'ALL', unit: 'KW', start_time: isoAt(T0 + 2 * Q), end_time: isoAt(T0 + 3 * Q) }]);
    assert.equal(unmetLimitBlocks(H, [1, 1, 1, 1, 1, 1], [10, 10, 10, 10, 10, 10], 0), undefined);
    const msg = { message: 'x', forecasted_blocks: r.blocks };
    assertOscpValid('group-capacity-compliance-error', msg);
    assertOscpValid('group-capacity-compliance-error', { group_id: 'g', ...msg }, 'with the group_id extension');
  });

  it('asks for the limit plus the unmet energy spread over the binding intervals', () => {
    // 10 kWh over 2 binding quarter hours = 20 kW more in each
    const blocks = adjustmentBlocks(H, [50, 50, 40, 50, 50, 50], [1, 2, 2], 10);
    assert.deepEqual(blocks, [
      { capacity: 70, phase: 'ALL', unit: 'KW', start_time: isoAt(T0 + Q), end_time: isoAt(T0 + 2 * Q) },
      { capacity: 60, phase: 'ALL', unit: 'KW', start_time: isoAt(T0 + 2 * Q), end_time: isoAt(T0 + 3 * Q) },
    ]);
    assertOscpValid('adjust-group-capacity-forecast', { group_id: 'g', type: 'CONSUMPTION', forecasted_blocks: blocks });
    assert.equal(adjustmentBlocks(H, [50, 50, 50, 50, 50, 50], [], 10), undefined, 'no binding limit: more capacity would not help');
    assert.equal(adjustmentBlocks(H, [null, null, null, null, null, null], [0, 1], 10), undefined, 'no forecast there');
    assert.equal(adjustmentBlocks(H, [50, 50, 50, 50, 50, 50], [0], 0), undefined);
  });

  it('builds an energy measurement in kWh over its period, valid against the official schemas', () => {
    const m = energyMeasurement(3.14159, T0, T0 + Q);
    assert.deepEqual(m, { value: 3.142, phase: 'ALL', unit: 'KWH', direction: 'IMPORT', energy_type: 'FLEXIBLE', measure_time: isoAt(T0 + Q), initial_measure_time: isoAt(T0) });
    assertOscpValid('energy-measurement', m);
    assertOscpValid('update-group-measurements', { group_id: 'g', measurements: [m] });
    // V2X: a period whose net energy is negative is reported as EXPORT, with the magnitude.
    const exported = energyMeasurement(-1.25, T0, T0 + Q);
    assert.equal(exported.value, 1.25);
    assert.equal(exported.direction, 'EXPORT');
    assertOscpValid('energy-measurement', exported);
  });

  it('requires measurements from CPOs only, as configured', () => {
    const cfg = { OSCP_HEARTBEAT_INTERVAL_S: 60 };
    assert.deepEqual(requiredBehaviourToward('capacity_provider', { ...cfg, OSCP_CPO_MEASUREMENT_CONFIGURATION: 'CONTINUOUS' }), ourRequiredBehaviour(60));
    assert.deepEqual(requiredBehaviourToward('flexibility_provider', cfg), { heartbeat_interval: 60, measurement_configuration: ['CONTINUOUS'] });
    assert.deepEqual(requiredBehaviourToward('flexibility_provider', { ...cfg, OSCP_CPO_MEASUREMENT_CONFIGURATION: 'NONE' }).measurement_configuration, []);
    for (const role of ['capacity_provider', 'flexibility_provider'] as const) assertOscpValid('required-behaviour', requiredBehaviourToward(role, cfg));
  });
});

describe('OSCP 2.0 zod schemas of the reporting messages vs the official JSON schemas', () => {
  const block = { capacity: 5, phase: 'ALL', unit: 'KW', start_time: isoAt(T0), end_time: isoAt(T0 + Q) };
  const em = { value: 1.5, phase: 'ALL', unit: 'KWH', direction: 'IMPORT', measure_time: isoAt(T0) };
  const samples: { name: string; file: keyof typeof oscpSchemasByFile; body: unknown; valid: boolean }[] = [
    { name: 'adjust', file: 'adjust-group-capacity-forecast', body: { group_id: 'g', type: 'CONSUMPTION', forecasted_blocks: [block] }, valid: true },
    { name: 'adjust without blocks', file: 'adjust-group-capacity-forecast', body: { group_id: 'g', type: 'CONSUMPTION', forecasted_blocks: [] }, valid: false },
    { name: 'adjust without type', file: 'adjust-group-capacity-forecast', body: { group_id: 'g', forecasted_blocks: [block] }, valid: false },
    { name: 'compliance error with message only', file: 'group-capacity-compliance-error', body: { message: 'over' }, valid: true },
    { name: 'compliance error without message', file: 'group-capacity-compliance-error', body: { forecasted_blocks: [block] }, valid: false },
    { name: 'compliance error with empty blocks', file: 'group-capacity-compliance-error', body: { message: 'm', forecasted_blocks: [] }, valid: false },
    { name: 'group measurements', file: 'update-group-measurements', body: { group_id: 'g', measurements: [em] }, valid: true },
    { name: 'group measurements in W (not an energy unit)', file: 'update-group-measurements', body: { group_id: 'g', measurements: [{ ...em, unit: 'W' }] }, valid: false },
    { name: 'group measurements without direction', file: 'update-group-measurements', body: { group_id: 'g', measurements: [{ value: 1, phase: 'ALL', unit: 'KWH', measure_time: isoAt(T0) }] }, valid: false },
    { name: 'group measurements, none', file: 'update-group-measurements', body: { group_id: 'g', measurements: [] }, valid: false },
    { name: 'asset measurements', file: 'update-asset-measurements', body: { group_id: 'g', measurements: [{ asset_id: 'evse-1', asset_category: 'CHARGING', energy_measurement: em, instantaneous_measurement: { value: 7, phase: 'ALL', unit: 'KW', measure_time: isoAt(T0) } }] }, valid: true },
    { name: 'asset measurements of an unknown category', file: 'update-asset-measurements', body: { group_id: 'g', measurements: [{ asset_id: 'a', asset_category: 'HEATING' }] }, valid: false },
    { name: 'energy type TOTAL', file: 'energy-type', body: 'TOTAL', valid: true },
    { name: 'direction NET', file: 'energy-flow-direction', body: 'NET', valid: true },
  ];
  before(function () {
    requireSpecsOrSkip(this, ...OSCP_SCHEMA_PARTS);
  });
  for (const s of samples) {
    it(`${s.valid ? 'accepts' : 'rejects'} ${s.name}, as the official schema does`, () => {
      const official = validateOscp(s.file, s.body);
      assert.equal(official.length === 0, s.valid, `official schema: ${official.join('; ')}`);
      const ours = oscpSchemasByFile[s.file].safeParse(s.body);
      assert.equal(ours.success, s.valid, ours.success ? 'zod accepted' : ours.error.message);
    });
  }
});
