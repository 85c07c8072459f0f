import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isDateTime, oscpSchemasByFile, type OscpSchemaFile } from '../../../grid-adapters/oscp/index.ts';
import { OSCP_SCHEMA_PARTS, oscpSchemaFiles, validateOscp } from '../../helpers/oscp-schemas.ts';
import { aBlock, aForecast } from '../../helpers/oscp-builders.ts';
import { requireSpecsOrSkip } from '../../helpers/specs.ts';

interface Sample {
  name: string;
  file: OscpSchemaFile;
  body: unknown;
  valid: boolean;
}

const RB = { heartbeat_interval: 30, measurement_configuration: ['CONTINUOUS'] };
const REG = { token: 'abc', version_url: [{ version: '2.0', base_url: 'https://dso.example/oscp/cp/2.0' }] };

/** Valid and invalid bodies; `valid` is what the official schema says, and zod must agree. */
const SAMPLES: Sample[] = [
  { name: 'register', file: 'register', body: REG, valid: true },
  { name: 'register with unknown extra fields', file: 'register', body: { ...REG, extra: { a: 1 } }, valid: true },
  { name: 'register offering two versions', file: 'register', body: { ...REG, version_url: [{ version: '2.1', base_url: 'x' }, ...REG.version_url] }, valid: true },
  { name: 'register without version_url entries (minItems 1)', file: 'register', body: { ...REG, version_url: [] }, valid: false },
  { name: 'register without token', file: 'register', body: { version_url: REG.version_url }, valid: false },
  { name: 'register with a numeric token', file: 'register', body: { ...REG, token: 42 }, valid: false },
  { name: 'register with a version_url lacking base_url', file: 'register', body: { ...REG, version_url: [{ version: '2.0' }] }, valid: false },
  { name: 'register as an array', file: 'register', body: [REG], valid: false },
  { name: 'version-url', file: 'version-url', body: REG.version_url[0], valid: true },
  { name: 'empty handshake', file: 'handshake', body: {}, valid: true },
  { name: 'handshake with required_behaviour', file: 'handshake', body: { required_behaviour: RB }, valid: true },
  { name: 'handshake with empty measurement_configuration', file: 'handshake', body: { required_behaviour: { measurement_configuration: [] } }, valid: true },
  { name: 'handshake with a fractional heartbeat_interval', file: 'handshake', body: { required_behaviour: { ...RB, heartbeat_interval: 7.5 } }, valid: true },
  { name: 'handshake without measurement_configuration (required)', file: 'handshake', body: { required_behaviour: { heartbeat_interval: 60 } }, valid: false },
  { name: 'handshake with duplicate measurement_configuration (uniqueItems)', file: 'handshake', body: { required_behaviour: { measurement_configuration: ['CONTINUOUS', 'CONTINUOUS'] } }, valid: false },
  { name: 'handshake with an unknown measurement_configuration', file: 'handshake', body: { required_behaviour: { measurement_configuration: ['SOMETIMES'] } }, valid: false },
  { name: 'handshake with heartbeat_interval as a string', file: 'handshake', body: { required_behaviour: { ...RB, heartbeat_interval: '30' } }, valid: false },
  { name: 'handshake_acknowledge', file: 'handshake-acknowledge', body: { required_behaviour: { ...RB, measurement_configuration: ['CONTINUOUS', 'INTERMITTENT'] } }, valid: true },
  { name: 'handshake_acknowledge with null required_behaviour', file: 'handshake-acknowledge', body: { required_behaviour: null }, valid: false },
  { name: 'required-behaviour alone', file: 'required-behaviour', body: RB, valid: true },
  { name: 'heartbeat', file: 'heartbeat', body: { offline_mode_at: '2026-11-23T12:00:00Z' }, valid: true },
  { name: 'heartbeat with offset and fraction', file: 'heartbeat', body: { offline_mode_at: '2026-11-23T12:00:00.123+01:00' }, valid: true },
  { name: 'heartbeat with lower-case t and z', file: 'heartbeat', body: { offline_mode_at: '2026-11-23t12:00:00z' }, valid: true },
  { name: 'heartbeat without offline_mode_at', file: 'heartbeat', body: {}, valid: false },
  { name: 'heartbeat without a time zone', file: 'heartbeat', body: { offline_mode_at: '2026-11-23T12:00:00' }, valid: false },
  { name: 'heartbeat on 30 February', file: 'heartbeat', body: { offline_mode_at: '2026-02-30T12:00:00Z' }, valid: false },
  { name: 'heartbeat with epoch seconds', file: 'heartbeat', body: { offline_mode_at: 1_790_000_000 }, valid: false },
  { name: 'forecast', file: 'update-group-capacity-forecast', body: aForecast(), valid: true },
  ...(['GENERATION', 'FALLBACK_CONSUMPTION', 'FALLBACK_GENERATION', 'OPTIMUM'] as const).map((type) => ({
    name: `forecast of type ${type}`, file: 'update-group-capacity-forecast' as const, body: aForecast((f) => (f.type = type)), valid: true,
  })),
  { name: 'forecast in A on phase ONE with capacity 0', file: 'update-group-capacity-forecast', body: aForecast((f) => (f.forecasted_blocks = [aBlock((b) => ((b.unit = 'A'), (b.phase = 'ONE'), (b.capacity = 0)))])), valid: true },
  { name: 'forecast in KWH (schema-valid; the mapping refuses it)', file: 'update-group-capacity-forecast', body: aForecast((f) => (f.forecasted_blocks = [aBlock((b) => (b.unit = 'KWH'))])), valid: true },
  { name: 'forecast ending before it starts (schema-valid; the mapping refuses it)', file: 'update-group-capacity-forecast', body: aForecast((f) => (f.forecasted_blocks = [aBlock((b) => ([b.start_time, b.end_time] = [b.end_time, b.start_time]))])), valid: true },
  { name: 'forecast with negative capacity', file: 'update-group-capacity-forecast', body: aForecast((f) => (f.forecasted_blocks = [aBlock((b) => (b.capacity = -1))])), valid: false },
  { name: 'forecast without blocks (minItems 1)', file: 'update-group-capacity-forecast', body: aForecast((f) => (f.forecasted_blocks = [])), valid: false },
  { name: 'forecast of an unknown type', file: 'update-group-capacity-forecast', body: { ...aForecast(), type: 'MAXIMUM' }, valid: false },
  { name: 'forecast in EUR (a pyoscp extension)', file: 'update-group-capacity-forecast', body: aForecast((f) => (f.forecasted_blocks = [{ ...aBlock(), unit: 'EUR' as 'KW' }])), valid: false },
  { name: 'forecast on phase FOUR', file: 'update-group-capacity-forecast', body: aForecast((f) => (f.forecasted_blocks = [{ ...aBlock(), phase: 'FOUR' as 'ALL' }])), valid: false },
  { name: 'forecast without group_id', file: 'update-group-capacity-forecast', body: { type: 'CONSUMPTION', forecasted_blocks: [aBlock()] }, valid: false },
  { name: 'forecast with a date as start_time', file: 'update-group-capacity-forecast', body: aForecast((f) => (f.forecasted_blocks = [aBlock((b) => (b.start_time = '2026-11-23'))])), valid: false },
  { name: 'forecast with capacity as a string', file: 'update-group-capacity-forecast', body: aForecast((f) => (f.forecasted_blocks = [{ ...aBlock(), capacity: '5' as unknown as number }])), valid: false },
  { name: 'forecasted-block without phase', file: 'forecasted-block', body: { capacity: 1, unit: 'KW', start_time: '2026-11-23T12:00:00Z', end_time: '2026-11-23T13:00:00Z' }, valid: false },
  { name: 'error', file: 'error', body: { message: 'no' }, valid: true },
  { name: 'empty error', file: 'error', body: {}, valid: true },
  { name: 'error with a numeric message', file: 'error', body: { message: 1 }, valid: false },
  { name: 'phase-indicator', file: 'phase-indicator', body: 'THREE', valid: true },
  { name: 'forecasted-block-unit in lower case', file: 'forecasted-block-unit', body: 'kw', valid: false },
  { name: 'capacity-forecast-type', file: 'capacity-forecast-type', body: 'OPTIMUM', valid: true },
  { name: 'measurement-configuration', file: 'measurement-configuration', body: 'INTERMITTENT', valid: true },
];

describe('OSCP 2.0 zod schemas vs the official JSON schemas', function () {
  before(function () {
    requireSpecsOrSkip(this, ...OSCP_SCHEMA_PARTS);
  });

  it('loads all 26 official schema files, with every $ref resolved', () => {
    const files = oscpSchemaFiles();
    assert.equal(files.length, 26);
    for (const f of files) assert.doesNotThrow(() => validateOscp(f, {}), f);
    for (const f of Object.keys(oscpSchemasByFile)) assert.ok(files.includes(f), `zod schema ${f} mirrors no official file`);
  });

  for (const s of SAMPLES) {
    it(`${s.valid ? 'accepts' : 'rejects'} ${s.name}, as the official schema does`, () => {
      const official = validateOscp(s.file, s.body);
      assert.equal(official.length === 0, s.valid, `official schema: ${official.join('; ')}`);
      const ours = oscpSchemasByFile[s.file].safeParse(s.body);
      assert.equal(ours.success, s.valid, ours.success ? 'zod accepted' : ours.error.message);
    });
  }

  it('agrees with ajv-formats on date-times (property test)', () => {
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    const dateTime = fc
      .record({
        y: fc.integer({ min: 0, max: 9999 }),
        mo: fc.integer({ min: 0, max: 13 }),
        d: fc.integer({ min: 0, max: 32 }),
        sep: fc.constantFrom('T', 't', ' ', 'x', ''),
        h: fc.integer({ min: 0, max: 25 }),
        mi: fc.integer({ min: 0, max: 60 }),
        s: fc.integer({ min: 0, max: 61 }),
        frac: fc.constantFrom('', '.5', '.123456789', '.'),
        zone: fc.constantFrom('Z', 'z', '', '+01:00', '-05:30', '+0100', '+01', '+24:00', '+01:60', '-00:00', ' Z'),
      })
      // ajv-formats alone takes hour 24 / minute 60 when an offset maps them to 23:59 UTC (see date-time.ts)
      .filter((p) => !((p.h > 23 || p.mi > 59) && !/^[zZ]?$/.test(p.zone.trim())))
      .map((p) => `${pad(p.y, 4)}-${pad(p.mo, 2)}-${pad(p.d, 2)}${p.sep}${pad(p.h, 2)}:${pad(p.mi, 2)}:${pad(p.s, 2)}${p.frac}${p.zone}`);
    fc.assert(
      fc.property(dateTime, (s) => {
        const official = validateOscp('heartbeat', { offline_mode_at: s }).length === 0;
        assert.equal(isDateTime(s), official, s);
      }),
      { numRuns: 20000 },
    );
  });
});
