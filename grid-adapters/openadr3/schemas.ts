import { z } from 'zod';
import { isDuration } from './duration.ts';

/**
 * OpenADR 3.1.0 wire schemas (zod) for the objects the gridflex VTN serves and the VEN client sends,
 * after `components.schemas` of ../shared/specs/openadr3/3.1.0/openadr3.yaml. Field names are the
 * wire's. Objects allow unknown properties and strip them (Definitions, Required and optional
 * properties: "a VTN may create a corresponding resource without the additional property"). Optional
 * fields are nullable with default null, as in the spec. Tests check our responses against the
 * OpenAPI document itself (Ajv), so these schemas and the document cannot drift apart unnoticed.
 */

const nullable = <T extends z.ZodType>(t: T) => t.nullable().optional();

/** objectID: URL safe, 1..128 characters. */
export const ObjectId = z.string().min(1).max(128).regex(/^[a-zA-Z0-9_-]*$/, 'must be URL safe ([a-zA-Z0-9_-])');
export const Name128 = z.string().min(1).max(128);
export const Target = z.string().min(1).max(128);
export const Targets = nullable(z.array(Target));

/**
 * dateTime: RFC 3339. The User Guide (7.3 intervalPeriod.start) also gives '0001-01-01' and
 * '0001-01-01T00:00:00' (no zone) a meaning ('now'), so those two spellings are accepted too.
 */
export const DateTime = z.string().refine((s) => isOpenadrDateTime(s), { message: 'must be an RFC 3339 date-time' });
export const Duration = z.string().refine(isDuration, { message: 'must be an ISO 8601 duration, e.g. PT1H' });

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
export function isOpenadrDateTime(s: string): boolean {
  if (s === '0001-01-01' || s === '0001-01-01T00:00:00') return true;
  return RFC3339.test(s) && !Number.isNaN(Date.parse(s));
}

export const ObjectType = z.enum(['PROGRAM', 'EVENT', 'REPORT', 'SUBSCRIPTION', 'VEN', 'RESOURCE']);
export type ObjectType = z.infer<typeof ObjectType>;
export const Operation = z.enum(['READ', 'CREATE', 'UPDATE', 'DELETE']);
export type Operation = z.infer<typeof Operation>;

export const Point = z.object({ x: z.number(), y: z.number() });
export const ValuesMap = z.object({
  type: Name128,
  values: z.array(z.union([z.number(), z.string(), z.boolean(), Point])),
});
export type ValuesMap = z.infer<typeof ValuesMap>;

export const IntervalPeriod = z.object({
  start: DateTime.optional(),
  duration: Duration.optional(),
  randomizeStart: Duration.optional(),
});
export type IntervalPeriod = z.infer<typeof IntervalPeriod>;

export const Interval = z.object({
  id: z.number().int().min(-2147483648).max(2147483647),
  intervalPeriod: IntervalPeriod.optional(),
  payloads: z.array(ValuesMap),
});
export type Interval = z.infer<typeof Interval>;

const Units = nullable(z.string().min(1).max(128));
export const EventPayloadDescriptor = z.object({
  objectType: z.literal('EVENT_PAYLOAD_DESCRIPTOR'),
  payloadType: Name128,
  units: Units,
  currency: nullable(z.string()),
});
export const ReportPayloadDescriptor = z.object({
  objectType: z.literal('REPORT_PAYLOAD_DESCRIPTOR'),
  payloadType: Name128,
  readingType: nullable(z.string().min(1).max(128)),
  units: Units,
  accuracy: nullable(z.number()),
  confidence: nullable(z.number().int().min(0).max(100)),
});
export const ReportDescriptor = z.object({
  payloadType: Name128,
  readingType: nullable(z.string().min(1).max(128)),
  units: Units,
  targets: Targets,
  aggregate: z.boolean().optional(),
  startInterval: z.number().int().optional(),
  numIntervals: z.number().int().optional(),
  historical: z.boolean().optional(),
  frequency: z.number().int().optional(),
  repeat: z.number().int().optional(),
  reportIntervals: z.enum(['INTERVALS', 'SUB_INTERVALS', 'OPEN_INTERVALS']).optional(),
});

const Uri = z.string().min(2).max(8000).refine((s) => URL.canParse(s), { message: 'must be a URI' });

export const ProgramRequest = z.object({
  programName: Name128,
  intervalPeriod: IntervalPeriod.optional(),
  programDescriptions: nullable(z.array(z.object({ URL: Uri }))),
  payloadDescriptors: nullable(z.array(z.union([EventPayloadDescriptor, ReportPayloadDescriptor]))),
  attributes: nullable(z.array(ValuesMap)),
  targets: Targets,
});
export type ProgramRequest = z.infer<typeof ProgramRequest>;

export const EventRequest = z.object({
  programID: ObjectId,
  eventName: nullable(z.string()),
  duration: Duration.optional(),
  priority: nullable(z.number().int().min(0)),
  targets: Targets,
  reportDescriptors: nullable(z.array(ReportDescriptor)),
  payloadDescriptors: nullable(z.array(EventPayloadDescriptor)),
  intervalPeriod: IntervalPeriod.optional(),
  intervals: z.array(Interval).optional(),
});
export type EventRequest = z.infer<typeof EventRequest>;

export const ReportRequest = z.object({
  eventID: ObjectId,
  clientName: Name128,
  reportName: nullable(z.string()),
  payloadDescriptors: nullable(z.array(ReportPayloadDescriptor)),
  resources: z.array(
    z.object({
      resourceName: Name128,
      intervalPeriod: IntervalPeriod.optional(),
      intervals: z.array(Interval),
    }),
  ),
});
export type ReportRequest = z.infer<typeof ReportRequest>;

export const ObjectOperation = z.object({
  objects: z.array(ObjectType),
  operations: z.array(Operation),
  callbackUrl: Uri,
  bearerToken: nullable(z.string()),
});
export const SubscriptionRequest = z.object({
  clientName: Name128,
  programID: ObjectId.optional(),
  objectOperations: z.array(ObjectOperation),
  targets: Targets,
});
export type SubscriptionRequest = z.infer<typeof SubscriptionRequest>;

/** venRequest: oneOf BlVenRequest / VenVenRequest, told apart by objectType. */
export const BlVenRequest = z.object({
  objectType: z.literal('BL_VEN_REQUEST'),
  clientID: Name128,
  targets: Targets,
  venName: Name128,
  attributes: nullable(z.array(ValuesMap)),
});
export const VenVenRequest = z.object({
  objectType: z.literal('VEN_VEN_REQUEST'),
  venName: Name128,
  attributes: nullable(z.array(ValuesMap)),
});
export const VenRequest = z.discriminatedUnion('objectType', [BlVenRequest, VenVenRequest]);
export type VenRequest = z.infer<typeof VenRequest>;

export const BlResourceRequest = z.object({
  objectType: z.literal('BL_RESOURCE_REQUEST'),
  clientID: Name128,
  targets: Targets,
  resourceName: Name128,
  venID: ObjectId,
  attributes: nullable(z.array(ValuesMap)),
});
export const VenResourceRequest = z.object({
  objectType: z.literal('VEN_RESOURCE_REQUEST'),
  resourceName: Name128,
  venID: ObjectId,
  attributes: nullable(z.array(ValuesMap)),
});
export const ResourceRequest = z.discriminatedUnion('objectType', [BlResourceRequest, VenResourceRequest]);
export type ResourceRequest = z.infer<typeof ResourceRequest>;

/** Metadata the VTN writes on every object (Definitions, Object Metadata). */
export const ObjectMetadata = z.object({
  id: ObjectId,
  createdDateTime: DateTime,
  modificationDateTime: DateTime,
  objectType: ObjectType,
});
export const Program = ObjectMetadata.extend(ProgramRequest.shape);
export type Program = z.infer<typeof Program>;
export const Event = ObjectMetadata.extend(EventRequest.shape);
export type Event = z.infer<typeof Event>;
export const Report = ObjectMetadata.extend(ReportRequest.shape).extend({ clientID: Name128 });
export type Report = z.infer<typeof Report>;
export const Subscription = ObjectMetadata.extend(SubscriptionRequest.shape).extend({ clientID: Name128 });
export type Subscription = z.infer<typeof Subscription>;
export const Ven = ObjectMetadata.extend(BlVenRequest.shape).extend({ objectType: ObjectType });
export type Ven = z.infer<typeof Ven>;
export const Resource = ObjectMetadata.extend(BlResourceRequest.shape).extend({ objectType: ObjectType });
export type Resource = z.infer<typeof Resource>;

export const Notification = z.object({
  objectType: ObjectType,
  operation: Operation,
  object: z.record(z.string(), z.unknown()),
  targets: Targets,
});
export type Notification = z.infer<typeof Notification>;

export const Problem = z.object({
  type: z.string().optional(),
  title: z.string().optional(),
  status: z.number().int().optional(),
  detail: z.string().optional(),
  instance: z.string().optional(),
});
export type Problem = z.infer<typeof Problem>;

/** POST /auth/token body (RFC 6749 4.4.2, snake case). */
export const ClientCredentialRequest = z.object({
  grant_type: z.literal('client_credentials'),
  client_id: z.string().min(1).max(4096),
  client_secret: z.string().min(1).max(4096),
  scope: z.string().max(4096).optional(),
});
export const ClientCredentialResponse = z.object({
  access_token: z.string().min(1).max(4096),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().optional(),
  refresh_token: z.string().optional(),
  scope: z.string().optional(),
});
export type ClientCredentialResponse = z.infer<typeof ClientCredentialResponse>;

/** The scopes of the securitySchemes of the 3.1.0 document. */
export const SCOPES = [
  'read_all',
  'read_targets',
  'read_ven_objects',
  'read_bl',
  'write_programs',
  'write_events',
  'write_reports',
  'write_subscriptions',
  'write_vens',
] as const;
export type Scope = (typeof SCOPES)[number];
export const ScopeSchema = z.enum(SCOPES);

/** Page parameters (skip >= 0, 0 <= limit <= 50) of every search operation. */
export const MAX_PAGE = 50;
