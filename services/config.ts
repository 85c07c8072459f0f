import { z } from 'zod';
import { isTimeZone, parseTariff } from './core/tariff.ts';

/**
 * Every setting of gridflex, read once from the environment. A bad value stops start-up with a
 * message naming the variable (the CLI exits with code 2).
 */
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');
const url = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a URL with one of ${protocols.join(', ')}`);

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: port.default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** The URL peers (DSOs) use to reach us; it goes into OSCP registrations. */
  PUBLIC_URL: url(['http:', 'https:']).optional(),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  DATABASE_MAX_CONNECTIONS: positiveInt.default(10),
  /** PostgreSQL: longest wait for a connection, opening one or a free one from the full pool (ms). */
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /**
   * PostgreSQL statement_timeout of every pooled connection (ms; 0 = none): the server cancels a query
   * running longer. Migrations and the wait for another instance's run of a grid area are exempt.
   */
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().refine((v) => v === 0 || (v >= 1000 && v <= 3_600_000), 'must be 0 (none) or 1000–3600000').default(60_000),
  GRIDFLEX_DATA_DIR: z.string().min(1).default('.gridflex-data'),
  MQTT_URL: url(['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:']).optional(),
  /** Port of the embedded aedes broker, used when MQTT_URL is unset (not 1883, to leave a system broker alone). */
  MQTT_EMBEDDED_PORT: port.default(1884),
  MQTT_TOPIC_PREFIX: z.string().regex(/^[^#+]+$/, 'must not contain MQTT wildcards').default('gridflex'),
  GRIDFLEX_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  INTERVAL_MINUTES: z.coerce.number().int().refine((v) => [5, 15, 30, 60].includes(v), 'must be 5, 15, 30 or 60').default(15),
  HORIZON_INTERVALS: z.coerce.number().int().min(1).max(672).default(96),
  SOLVER_TIME_LIMIT_S: z.coerce.number().positive().max(300).default(10),
  /**
   * How scarce capacity is shared across the CPO nodes of a grid area (docs/optimizer.md, "Sharing"):
   * 'none'; 'proportional' to, or 'maxmin' (weighted max-min fair) by, each CPO node's importLimitKw (its
   * contracted capacity; 1 where unset); 'priority' by each CPO node's sharingClass (higher first); 'fcfs'
   * in the order the CPO nodes were created. Costs a second LP solve per area.
   */
  SHARING_POLICY: z.enum(['none', 'proportional', 'maxmin', 'priority', 'fcfs']).default('none'),
  /** Penalty per kW of setpoint change between intervals (0..1; 0 = off). Slows large LPs: see docs/optimizer.md. */
  CHURN_PENALTY_PER_KW: z.coerce.number().min(0).max(1).default(0),
  /**
   * Min powers ("0 or at least min"): 'rounding' (LP, then turn off what is under the min and top up; fast)
   * or 'milp' (exact per area with GLPK's integer solver, up to 60 % of SOLVER_TIME_LIMIT_S; large areas
   * stay on rounding). docs/optimizer.md, "Phases and minimum power".
   */
  MIN_POWER_MODE: z.enum(['rounding', 'milp']).default('rounding'),
  /**
   * Standing time-of-use tariff, `HH:MM=price,...` in TARIFF_TIME_ZONE (e.g. `00:00=0.21,07:00=0.32,23:00=0.21`):
   * prices for the intervals no OpenADR PRICE event covers (services/core/tariff.ts).
   */
  TARIFF: z.string().superRefine((v, ctx) => {
    try {
      parseTariff(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    }
  }).optional(),
  TARIFF_TIME_ZONE: z.string().refine(isTimeZone, 'must be an IANA time zone, e.g. Europe/Amsterdam').default('UTC'),
  REALLOCATE_DEBOUNCE_MS: z.coerce.number().int().min(0).max(60_000).default(250),
  /** Used when a session tells us nothing about its needs (OCPP 1.6, or 2.0.1 without ISO 15118). */
  DEFAULT_SESSION_ENERGY_KWH: z.coerce.number().positive().max(500).default(30),
  DEFAULT_SESSION_HOURS: z.coerce.number().positive().max(72).default(8),
  OUTBOX_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  OUTBOX_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(10),
  OUTBOX_RETRY_BASE_MS: z.coerce.number().int().min(10).max(600_000).default(2000),
  OCPP_CALL_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(30_000),
  OCPP_HEARTBEAT_INTERVAL_S: z.coerce.number().int().min(10).max(86_400).default(300),
  /** OCPP failsafe TxDefaultProfile set at every boot: limit per EVSE (kW) while no newer plan is in force (docs/ocpp.md). */
  OCPP_FAILSAFE_KW: z.coerce.number().min(0).max(1000).default(3.7),
  /** OCPP 2.1: TxProfiles become invalid after this long offline (maxOfflineDuration, s); the failsafe then applies. */
  OCPP_MAX_OFFLINE_S: z.coerce.number().int().min(0).max(7 * 86_400).default(900),
  /** OCPP: read smart-charging capabilities at boot (1.6 GetConfiguration, 2.x GetVariables). */
  OCPP_READ_CAPABILITIES: bool.default(true),
  /** OCPP closed loop: read back GetCompositeSchedule after an acknowledged SetChargingProfile. */
  OCPP_COMPOSITE_READBACK: bool.default(true),
  /** OCPP closed loop: excess (kW) over a sent limit or setpoint tolerated before it counts as a deviation. */
  OCPP_COMPLIANCE_TOLERANCE_KW: z.coerce.number().min(0).max(1000).default(0.5),
  /** OCPP closed loop: a deviating station is re-sent its profile this many times, then flagged non-compliant. */
  OCPP_COMPLIANCE_MAX_RESENDS: z.coerce.number().int().min(0).max(20).default(2),
  /** OCPP: TLS is terminated by a trusted proxy in front of gridflex, so plain connections count as TLS for security profile 2 (never 3). */
  OCPP_TLS_OFFLOADED: bool.default(false),
  /** OCPP security profiles 2/3 served by gridflex itself: TLS port (unset = no TLS listener) and PEM files. */
  OCPP_TLS_PORT: port.optional(),
  OCPP_TLS_KEY_FILE: z.string().min(1).optional(),
  OCPP_TLS_CERT_FILE: z.string().min(1).optional(),
  /** CA that signs station client certificates (security profile 3); unset = no client certificates requested. */
  OCPP_TLS_CA_FILE: z.string().min(1).optional(),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  OSCP_HEARTBEAT_INTERVAL_S: z.coerce.number().int().min(10).max(86_400).default(300),
  /** OSCP offline mode: import cap (kW) for an offline DSO's groups where it sent no FALLBACK_CONSUMPTION; unset: keep its last forecast. */
  OSCP_OFFLINE_SAFE_IMPORT_KW: z.coerce.number().min(0).optional(),
  /** Same for export (FALLBACK_GENERATION). */
  OSCP_OFFLINE_SAFE_EXPORT_KW: z.coerce.number().min(0).optional(),
  /** Length of one UpdateGroupMeasurements period (s), for peers whose handshake asked for measurements. */
  OSCP_MEASUREMENT_INTERVAL_S: z.coerce.number().int().min(60).max(86_400).default(900),
  /** Also send UpdateAssetMeasurements (per EVSE) to DSOs that asked for measurements. */
  OSCP_ASSET_MEASUREMENTS: bool.optional(),
  /** Power above a forecast (kW) tolerated before a GroupCapacityComplianceError is sent. */
  OSCP_COMPLIANCE_TOLERANCE_KW: z.coerce.number().min(0).max(10_000).default(1),
  /** Unmet energy (kWh) under a group that makes gridflex ask the DSO for more capacity (AdjustGroupCapacityForecast). */
  OSCP_ADJUST_MIN_UNMET_KWH: z.coerce.number().min(0).max(1_000_000).default(10),
  /** At most one AdjustGroupCapacityForecast per group per this many seconds. */
  OSCP_ADJUST_MIN_INTERVAL_S: z.coerce.number().int().min(60).max(86_400).default(900),
  /** What gridflex, as Capacity Provider, asks of CPOs in its handshake: CONTINUOUS, INTERMITTENT or NONE. */
  OSCP_CPO_MEASUREMENT_CONFIGURATION: z.enum(['CONTINUOUS', 'INTERMITTENT', 'NONE']).default('CONTINUOUS'),
  /** OpenADR 3 VTN: HS256 key for the bearer tokens of /auth/token (>= 32 chars). Required in production; generated per start in development. */
  OPENADR_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** OpenADR 3 VTN: lifetime of an access token (s). */
  OPENADR_TOKEN_TTL_S: z.coerce.number().int().min(60).max(86_400).default(3600),
  /**
   * OpenADR 3 VTN: token buckets against credential guessing on /auth/token and with bearer tokens.
   * Each failed attempt takes a token from the bucket of its client id and of its source IP; an empty
   * bucket answers 429 with Retry-After. Burst = bucket size, PER_MIN = tokens refilled per minute.
   */
  OPENADR_AUTH_FAIL_CLIENT_BURST: z.coerce.number().int().min(1).max(10_000).default(10),
  OPENADR_AUTH_FAIL_CLIENT_PER_MIN: z.coerce.number().positive().max(10_000).default(5),
  OPENADR_AUTH_FAIL_IP_BURST: z.coerce.number().int().min(1).max(100_000).default(50),
  OPENADR_AUTH_FAIL_IP_PER_MIN: z.coerce.number().positive().max(100_000).default(30),
  /** OpenADR 3 VTN: MQTT broker URI announced in GET /notifiers (MQTT notifications are published only when set). */
  OPENADR_MQTT_BROKER_URL: url(['mqtt:', 'mqtts:', 'ws:', 'wss:']).optional(),
  /**
   * OpenADR 3 VTN: how MQTT clients authenticate, as announced in GET /notifiers. OAUTH2_BEARER_TOKEN
   * (username "{clientID}", the access token as password; the embedded broker enforces per-client
   * topic ACLs with it) or ANONYMOUS (an external broker that does its own access control).
   */
  OPENADR_MQTT_AUTHENTICATION: z.enum(['OAUTH2_BEARER_TOKEN', 'ANONYMOUS']).default('OAUTH2_BEARER_TOKEN'),
  /** OpenADR 3: how far ahead (days) looping events (event.duration longer than their intervals) are expanded into signals. */
  /**
   * OpenADR SIMPLE levels 0..3 as the share of a node's static import limit taken away while the level
   * is in force (comma-separated, e.g. "0,0.25,0.5,0.75": level 2 leaves 50 % of the limit).
   */
  OPENADR_SIMPLE_REDUCTIONS: z
    .string()
    .regex(/^\s*(0(\.\d+)?|1(\.0+)?)(\s*,\s*(0(\.\d+)?|1(\.0+)?)){3}\s*$/, 'four comma-separated shares between 0 and 1 (levels 0..3)')
    .default('0,0.25,0.5,0.75'),
  OPENADR_SIGNAL_HORIZON_DAYS: z.coerce.number().int().min(1).max(366).default(14),
  /** gridflex as OpenADR 3 VEN: base URL of the upstream VTN (unset: no VEN client). */
  OPENADR_VEN_VTN_URL: url(['http:', 'https:']).optional(),
  OPENADR_VEN_CLIENT_ID: z.string().min(1).optional(),
  OPENADR_VEN_CLIENT_SECRET: z.string().min(1).optional(),
  OPENADR_VEN_NAME: z.string().min(1).max(128).default('gridflex'),
  /** The topology node the upstream VTN's events apply to. */
  OPENADR_VEN_NODE_ID: z.string().min(1).optional(),
  /** Comma-separated targets granted by the upstream VTN (asked for when reading programs and events). */
  OPENADR_VEN_TARGETS: z.string().optional(),
  /** Comma-separated resource names to register (default: the node id). */
  OPENADR_VEN_RESOURCES: z.string().optional(),
  /** Bearer token the upstream VTN must present on webhook callbacks; with PUBLIC_URL, enables the subscription. */
  OPENADR_VEN_CALLBACK_TOKEN: z.string().min(16).optional(),
  OPENADR_VEN_POLL_S: z.coerce.number().int().min(5).max(3600).default(60),
  DEMO_STATIONS: z.coerce.number().int().min(0).max(2000).default(24),
  DEMO_SPEEDUP: z.coerce.number().positive().max(3600).default(60),
  GRIDFLEX_REQUIRE_SECRETS: bool.optional(),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(issues.map((i) => `${i.variable}: ${i.message}`).join('; '));
    this.name = 'ConfigError';
  }
}

/** Parses the environment; empty strings count as unset. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  const res = configSchema.safeParse(input);
  if (!res.success) {
    throw new ConfigError(res.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: `${i.message} (got ${JSON.stringify(input[String(i.path[0])])})` })));
  }
  const cfg = res.data;
  // Fail closed: in production a missing admin token is an error, never a generated default.
  if ((cfg.NODE_ENV === 'production' || cfg.GRIDFLEX_REQUIRE_SECRETS) && !cfg.GRIDFLEX_ADMIN_TOKEN) {
    throw new ConfigError([{ variable: 'GRIDFLEX_ADMIN_TOKEN', message: 'required in production' }]);
  }
  return cfg;
}
