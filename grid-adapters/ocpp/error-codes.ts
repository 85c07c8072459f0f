/**
 * CALLERROR error codes as each OCPP-J version spells them. Pure.
 *
 * - OCPP-J 1.6 (§4.2.3, and the 1.6J errata sheet v1.0 §5 "known issues that will not be fixed"):
 *   the codes keep their original spelling, `FormationViolation` and `OccurenceConstraintViolation`;
 *   `RpcFrameworkError` and `MessageTypeNotSupported` do not exist in 1.6 and become `GenericError`.
 * - OCPP-J 2.0.1 (§4.3, Table 8): `FormatViolation` and `OccurrenceConstraintViolation`.
 *
 * ocpp-rpc produces a mix of both spellings (it sends the 2.0.1 spelling of the occurrence code on 1.6
 * and the 1.6 spelling on 2.0.1), so outbound frames are normalised here before they are written.
 */
import type { OcppVersion } from './profiles.ts';

const V16: Record<string, string> = {
  FormatViolation: 'FormationViolation',
  OccurrenceConstraintViolation: 'OccurenceConstraintViolation',
  RpcFrameworkError: 'GenericError',
  MessageTypeNotSupported: 'GenericError',
};

const V201: Record<string, string> = {
  FormationViolation: 'FormatViolation',
  OccurenceConstraintViolation: 'OccurrenceConstraintViolation',
};

export function callErrorCodeFor(version: OcppVersion, code: string): string {
  const table = version === '1.6' ? V16 : V201;
  return table[code] ?? code;
}

const CALLERROR = 4;

/**
 * Rewrites the error code of an outbound CALLERROR frame (`[4, id, code, description, details]`) to the
 * version's spelling; any other frame is returned unchanged (and not parsed).
 */
export function normalizeOutboundFrame(version: OcppVersion, frame: string): string {
  if (!/^\s*\[\s*4\s*,/.test(frame)) return frame;
  let msg: unknown;
  try {
    msg = JSON.parse(frame);
  } catch {
    return frame;
  }
  if (!Array.isArray(msg) || msg[0] !== CALLERROR || typeof msg[2] !== 'string') return frame;
  const fixed = callErrorCodeFor(version, msg[2]);
  if (fixed === msg[2]) return frame;
  msg[2] = fixed;
  return JSON.stringify(msg);
}
