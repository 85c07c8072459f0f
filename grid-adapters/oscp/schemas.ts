import { z } from 'zod';
import { isDateTime } from './date-time.ts';

/**
 * OSCP 2.0 wire schemas (zod), one per message and type of the OCA JSON schemas (draft-07, 26 files,
 * see ../shared/specs/oscp/). Field names are the wire's snake_case. Like the official schemas, objects
 * allow unknown properties (zod strips them); enums, `minItems`, `minimum` and `uniqueItems` are the
 * official ones. Tests assert that these accept and reject the same samples as the JSON schemas.
 *
 * Rules the JSON schemas cannot express (end after start, no overlap, supported units) are checked by
 * the mappings (forecast-mapping.ts), not here, so that "schema-valid" keeps the official meaning.
 */

/** OSCP 2.0 DateTime: JSON Schema `format: date-time` (RFC 3339), time zone required. */
export const DateTime = z.string().refine(isDateTime, { message: 'must be an RFC 3339 date-time with a time zone' });

// ---- enumerations (OSCP 2.0 data types) ----
export const PhaseIndicator = z.enum(['UNKNOWN', 'ONE', 'TWO', 'THREE', 'ALL']);
export type PhaseIndicator = z.infer<typeof PhaseIndicator>;

/** WH and KWH are energy units: valid on the wire, but not a capacity (see forecast-mapping.ts). */
export const ForecastedBlockUnit = z.enum(['A', 'W', 'KW', 'WH', 'KWH']);
export type ForecastedBlockUnit = z.infer<typeof ForecastedBlockUnit>;

export const CapacityForecastType = z.enum(['CONSUMPTION', 'GENERATION', 'FALLBACK_CONSUMPTION', 'FALLBACK_GENERATION', 'OPTIMUM']);
export type CapacityForecastType = z.infer<typeof CapacityForecastType>;

export const MeasurementConfiguration = z.enum(['CONTINUOUS', 'INTERMITTENT']);
export type MeasurementConfiguration = z.infer<typeof MeasurementConfiguration>;

// ---- messages and their parts ----
export const VersionUrl = z.object({
  version: z.string(),
  base_url: z.string(),
});
export type VersionUrl = z.infer<typeof VersionUrl>;

/** OSCP 2.0 Register: the token the receiver must use toward the sender, and where to reach it. */
export const Register = z.object({
  token: z.string(),
  version_url: z.array(VersionUrl).min(1),
});
export type Register = z.infer<typeof Register>;

/** Equality as JSON Schema `uniqueItems` sees it, for arrays of enum strings. */
function uniqueStrings(items: readonly string[]): boolean {
  return new Set(items).size === items.length;
}

/** What the sender of a Handshake (or HandshakeAcknowledgement) requires from its receiver. */
export const RequiredBehaviour = z.object({
  /** Seconds between the heartbeats the receiver must send; absent: no heartbeats required. */
  heartbeat_interval: z.number().optional(),
  measurement_configuration: z.array(MeasurementConfiguration).refine(uniqueStrings, { message: 'items must be unique' }),
});
export type RequiredBehaviour = z.infer<typeof RequiredBehaviour>;

export const Handshake = z.object({
  required_behaviour: RequiredBehaviour.optional(),
});
export type Handshake = z.infer<typeof Handshake>;

/** Sent to /handshake_acknowledge (the spec's HandshakeAcknowledgement; the schema's title is HandshakeAcknowledge). */
export const HandshakeAcknowledge = z.object({
  required_behaviour: RequiredBehaviour.optional(),
});
export type HandshakeAcknowledge = z.infer<typeof HandshakeAcknowledge>;

export const Heartbeat = z.object({
  offline_mode_at: DateTime,
});
export type Heartbeat = z.infer<typeof Heartbeat>;

export const ForecastedBlock = z.object({
  capacity: z.number().min(0),
  phase: PhaseIndicator,
  unit: ForecastedBlockUnit,
  start_time: DateTime,
  end_time: DateTime,
});
export type ForecastedBlock = z.infer<typeof ForecastedBlock>;

export const UpdateGroupCapacityForecast = z.object({
  group_id: z.string(),
  type: CapacityForecastType,
  forecasted_blocks: z.array(ForecastedBlock).min(1),
});
export type UpdateGroupCapacityForecast = z.infer<typeof UpdateGroupCapacityForecast>;

/** OSCP 2.0 AdjustGroupCapacityForecast (Flexibility Provider → Capacity Provider): the capacity the FP asks for. */
export const AdjustGroupCapacityForecast = z.object({
  group_id: z.string(),
  type: CapacityForecastType,
  forecasted_blocks: z.array(ForecastedBlock).min(1),
});
export type AdjustGroupCapacityForecast = z.infer<typeof AdjustGroupCapacityForecast>;

/** OSCP 2.0 GroupCapacityComplianceError (FP → CP): the FP cannot (or did not) keep to the forecast. */
export const GroupCapacityComplianceError = z.object({
  message: z.string(),
  forecasted_blocks: z.array(ForecastedBlock).min(1).optional(),
});
export type GroupCapacityComplianceError = z.infer<typeof GroupCapacityComplianceError>;

export const EnergyMeasurementUnit = z.enum(['WH', 'KWH']);
export const InstantaneousMeasurementUnit = z.enum(['A', 'W', 'KW', 'WH', 'KWH']);
export const EnergyType = z.enum(['FLEXIBLE', 'NONFLEXIBLE', 'TOTAL']);
export const EnergyFlowDirection = z.enum(['NET', 'IMPORT', 'EXPORT']);
export const AssetCategory = z.enum(['CHARGING', 'CONSUMPTION', 'GENERATION', 'STORAGE']);

export const EnergyMeasurement = z.object({
  value: z.number(),
  phase: PhaseIndicator,
  unit: EnergyMeasurementUnit,
  direction: EnergyFlowDirection,
  energy_type: EnergyType.optional(),
  measure_time: DateTime,
  initial_measure_time: DateTime.optional(),
});
export type EnergyMeasurement = z.infer<typeof EnergyMeasurement>;

export const InstantaneousMeasurement = z.object({
  value: z.number(),
  phase: PhaseIndicator,
  unit: InstantaneousMeasurementUnit,
  measure_time: DateTime,
});
export type InstantaneousMeasurement = z.infer<typeof InstantaneousMeasurement>;

export const AssetMeasurement = z.object({
  asset_id: z.string(),
  asset_category: AssetCategory,
  energy_measurement: EnergyMeasurement.optional(),
  instantaneous_measurement: InstantaneousMeasurement.optional(),
});
export type AssetMeasurement = z.infer<typeof AssetMeasurement>;

/** OSCP 2.0 UpdateGroupMeasurements (FP → CP): energy measured for a group. */
export const UpdateGroupMeasurements = z.object({
  group_id: z.string(),
  measurements: z.array(EnergyMeasurement).min(1),
});
export type UpdateGroupMeasurements = z.infer<typeof UpdateGroupMeasurements>;

/** OSCP 2.0 UpdateAssetMeasurements (FP → CP): measurements per asset of a group. */
export const UpdateAssetMeasurements = z.object({
  group_id: z.string(),
  measurements: z.array(AssetMeasurement).min(1),
});
export type UpdateAssetMeasurements = z.infer<typeof UpdateAssetMeasurements>;

/** OSCP 2.0 Error: the body of every non-2xx answer. */
export const OscpError = z.object({
  message: z.string().optional(),
});
export type OscpError = z.infer<typeof OscpError>;

/**
 * The schemas above by the base name of the official schema file they mirror, so tests (and any
 * tool) can check a body against both with one key.
 */
export const oscpSchemasByFile = {
  register: Register,
  'version-url': VersionUrl,
  handshake: Handshake,
  'handshake-acknowledge': HandshakeAcknowledge,
  'required-behaviour': RequiredBehaviour,
  'measurement-configuration': MeasurementConfiguration,
  heartbeat: Heartbeat,
  'update-group-capacity-forecast': UpdateGroupCapacityForecast,
  'forecasted-block': ForecastedBlock,
  'forecasted-block-unit': ForecastedBlockUnit,
  'phase-indicator': PhaseIndicator,
  'capacity-forecast-type': CapacityForecastType,
  'adjust-group-capacity-forecast': AdjustGroupCapacityForecast,
  'group-capacity-compliance-error': GroupCapacityComplianceError,
  'update-group-measurements': UpdateGroupMeasurements,
  'update-asset-measurements': UpdateAssetMeasurements,
  'energy-measurement': EnergyMeasurement,
  'instantaneous-measurement': InstantaneousMeasurement,
  'asset-measurement': AssetMeasurement,
  'energy-measurement-unit': EnergyMeasurementUnit,
  'instantaneous-measurement-unit': InstantaneousMeasurementUnit,
  'energy-type': EnergyType,
  'energy-flow-direction': EnergyFlowDirection,
  'asset-category': AssetCategory,
  error: OscpError,
} as const;
export type OscpSchemaFile = keyof typeof oscpSchemasByFile;
