import { OscpMappingError } from './errors.ts';
import type { Heartbeat, MeasurementConfiguration, Register, RequiredBehaviour, VersionUrl } from './schemas.ts';

/**
 * Builders and readers of the OSCP 2.0 session messages (Register, Handshake, HandshakeAcknowledgement,
 * Heartbeat). Pure: time is passed in.
 */

export const OSCP_VERSION = '2.0';

/** OSCP 2.0 Register: the receiver picks a version both sides speak from the sender's version_url list. */
export function chooseVersion(msg: Register): VersionUrl | undefined {
  return msg.version_url.find((v) => v.version.trim() === OSCP_VERSION);
}

/** Our Register: the token the peer must use toward us from now on, and where to reach us. */
export function registerMessage(token: string, ourBaseUrl: string): Register {
  return { token, version_url: [{ version: OSCP_VERSION, base_url: ourBaseUrl }] };
}

/**
 * Our RequiredBehaviour: heartbeats every `heartbeatIntervalS` seconds. Measurements flow from the
 * Flexibility Provider to the CP: toward a Capacity Provider (a DSO) we require none (an empty list;
 * the field itself is required by the schema); as Capacity Provider toward a CPO we may ask for them.
 */
export function ourRequiredBehaviour(heartbeatIntervalS: number, measurementConfiguration: MeasurementConfiguration[] = []): RequiredBehaviour {
  return { heartbeat_interval: heartbeatIntervalS, measurement_configuration: measurementConfiguration };
}

const MAX_INTERVAL_S = 2_147_483_647;

/**
 * What a peer's RequiredBehaviour asks of us. The schema lets heartbeat_interval be any number;
 * zero, negative or absurdly large intervals cannot be honoured, so they are refused. Fractions are
 * rounded up to whole seconds (sending a little less often than 1.5 s is not possible anyway: the
 * scheduler runs every 10 s).
 */
export function readRequiredBehaviour(rb: RequiredBehaviour): { heartbeatIntervalS: number | null; measurementConfiguration: MeasurementConfiguration[] } {
  const hb = rb.heartbeat_interval;
  if (hb !== undefined && !(hb > 0 && hb <= MAX_INTERVAL_S)) {
    throw new OscpMappingError(`required_behaviour.heartbeat_interval must be a positive number of seconds (at most ${MAX_INTERVAL_S})`);
  }
  return { heartbeatIntervalS: hb === undefined ? null : Math.ceil(hb), measurementConfiguration: rb.measurement_configuration };
}

/**
 * Our Heartbeat. offline_mode_at tells the peer when to consider us offline if no further heartbeat
 * arrives: two intervals, so one lost or late heartbeat does not trip the peer into offline mode.
 */
export function heartbeatMessage(nowMs: number, intervalS: number): Heartbeat {
  return { offline_mode_at: new Date(nowMs + 2 * intervalS * 1000).toISOString() };
}
