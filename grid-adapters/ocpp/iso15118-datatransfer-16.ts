/**
 * ISO 15118 smart-charging messages of OCPP 2.0.1 carried inside an OCPP 1.6 DataTransfer. Pure: parses
 * and validates the envelope, seals the answer; loads the 2.0.1 schemas bundled with ocpp-rpc, no I/O
 * beyond that.
 *
 * The envelope is the one of the OCA application note "Using ISO 15118 Plug & Charge with OCPP 1.6"
 * (v1.0, 2020-09-16, "Generic DataTransfer fields"): vendorId `org.openchargealliance.iso15118pnc`,
 * messageId = the name of the OCPP 2.0.1 message, data = that message's 2.0.1 JSON payload serialised as a
 * string; the answer is DataTransfer.conf with the 2.0.1 response payload, again as a string, in `data`.
 * The note itself covers certificates and Plug & Charge only ("excluding the smart charging
 * functionality") and no other vendorId for smart charging is published, so gridflex carries
 * NotifyEVChargingNeeds (K15) and NotifyEVChargingSchedule (K17) in that same envelope.
 *
 * Statuses (OCPP 1.6 §4.3 DataTransfer): another vendorId → UnknownVendorId (no `data`); another
 * messageId → UnknownMessageId. "In all other cases the usage of status Accepted or Rejected and the data
 * element is part of the vendor-specific agreement": an inner payload that is not JSON, or not a valid
 * 2.0.1 request, is Rejected with `data` = {errorCode, description} in the OCPP-J 2.0.1 error vocabulary
 * (the outer DataTransfer was valid, so it is not a CALLERROR).
 */
import { createRequire } from 'node:module';
import { createValidator } from 'ocpp-rpc';
import type { Validator } from 'ocpp-rpc/lib/validator.js';
import { callErrorCodeFor } from './error-codes.ts';

/** The OCA note's vendorId (1.6 CiString: compared case-insensitively). */
export const ISO15118_VENDOR_ID = 'org.openchargealliance.iso15118pnc';

/** The 2.0.1 messages gridflex accepts in the envelope (the smart-charging part of ISO 15118). */
export const ISO15118_SMART_MESSAGES = ['NotifyEVChargingNeeds', 'NotifyEVChargingSchedule'] as const;
export type Iso15118SmartMessage = (typeof ISO15118_SMART_MESSAGES)[number];

/** OCPP 1.6 DataTransfer.req (validated against the 1.6 schema before it gets here). */
export interface DataTransfer16 {
  vendorId: string;
  messageId?: string;
  data?: string;
}

/** OCPP 1.6 DataTransfer.conf. */
export interface DataTransferConf16 {
  status: 'Accepted' | 'Rejected' | 'UnknownMessageId' | 'UnknownVendorId';
  data?: string;
}

/** An inner payload gridflex could not take, named in OCPP-J 2.0.1 terms. */
export interface EnvelopeProblem {
  errorCode: string;
  description: string;
}

export type OpenedEnvelope =
  /** A valid 2.0.1 request: hand it to the 2.0.1 handler of `action`. */
  | { kind: 'request'; action: Iso15118SmartMessage; payload: unknown }
  /** Answered without a handler (unknown vendor or message, or a bad inner payload). */
  | { kind: 'answer'; conf: DataTransferConf16; problem?: EnvelopeProblem };

const requireJson = createRequire(import.meta.url);
let validator: Validator | undefined;

function schemas201(): Validator {
  validator ??= createValidator('ocpp2.0.1', requireJson('ocpp-rpc/lib/schemas/ocpp2_0_1.json') as object[]) as Validator;
  return validator;
}

const sameCi = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function isIso15118Vendor(vendorId: string): boolean {
  return sameCi(vendorId, ISO15118_VENDOR_ID);
}

/**
 * Checks a 2.0.1 payload against the official schema (`urn:<action>.req` / `.conf`). The problem, or
 * undefined when valid. Codes are spelled as OCPP-J 2.0.1 §4.3 spells them.
 */
export function validate201(action: string, kind: 'req' | 'conf', payload: unknown): EnvelopeProblem | undefined {
  try {
    schemas201().validate(`urn:${action}.${kind}`, payload);
    return undefined;
  } catch (err) {
    const code = (err as { rpcErrorCode?: unknown }).rpcErrorCode;
    return {
      errorCode: callErrorCodeFor('2.0.1', typeof code === 'string' ? code : 'FormatViolation'),
      description: err instanceof Error ? err.message : String(err),
    };
  }
}

function rejected(problem: EnvelopeProblem): OpenedEnvelope {
  return { kind: 'answer', conf: { status: 'Rejected', data: JSON.stringify(problem) }, problem };
}

/** Unwraps a DataTransfer.req: which 2.0.1 request it carries, or the answer to give at once. */
export function openIso15118DataTransfer(req: DataTransfer16): OpenedEnvelope {
  // OCPP 1.6 §4.3: "SHALL return a status 'UnknownVendorId' and the data element SHALL not be present".
  if (!isIso15118Vendor(req.vendorId)) return { kind: 'answer', conf: { status: 'UnknownVendorId' } };
  const action = ISO15118_SMART_MESSAGES.find((m) => req.messageId !== undefined && sameCi(m, req.messageId));
  // Plug & Charge messages of the note (Authorize, SignCertificate, …): gridflex does no certificate handling, so UnknownMessageId.
  if (!action) return { kind: 'answer', conf: { status: 'UnknownMessageId' } };
  if (req.data === undefined) return rejected({ errorCode: 'OccurrenceConstraintViolation', description: `data is required: the OCPP 2.0.1 ${action}Request as a JSON string` });
  let payload: unknown;
  try {
    payload = JSON.parse(req.data);
  } catch (err) {
    return rejected({ errorCode: 'FormatViolation', description: `data is not JSON: ${err instanceof Error ? err.message : String(err)}` });
  }
  const problem = validate201(action, 'req', payload);
  return problem ? rejected(problem) : { kind: 'request', action, payload };
}

/**
 * Seals the 2.0.1 response of `action` into DataTransfer.conf (status Accepted: the envelope was
 * understood; the response's own status says what became of the message). Throws when the response
 * is not valid against the 2.0.1 schema: that is a gridflex bug, never sent to the station.
 */
export function sealIso15118Answer(action: Iso15118SmartMessage, response: object): DataTransferConf16 {
  const problem = validate201(action, 'conf', response);
  if (problem) throw new Error(`${action} response fails the OCPP 2.0.1 schema: ${problem.description}`);
  return { status: 'Accepted', data: JSON.stringify(response) };
}
