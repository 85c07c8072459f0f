/**
 * The outbox channel 'ocpp': delivers one outbox row as a CALL to the connected station and maps the
 * answer onto the delivery contract (services/core/delivery.ts):
 * - station not connected here → unavailable (stays pending, no attempt counted);
 * - payload not valid for the station's OCPP version → rejected (it can never succeed; the next
 *   allocation builds one for the version the station now speaks);
 * - CALLRESULT with status Accepted (or without a status) → acked;
 * - CALLRESULT with another status (Rejected, NotSupported, ...) → rejected, with the answer;
 * - CALLERROR InternalError → retry (the station may recover); any other CALLERROR → rejected;
 * - no answer within OCPP_CALL_TIMEOUT_MS, or the connection dropped → retry.
 * CALLs to one station go out one at a time (OCPP-J §4.1.1 synchronicity; ocpp-rpc callConcurrency 1).
 * The wait for an answer is bounded by OCPP_CALL_TIMEOUT_MS from when the CALL leaves ocpp-rpc's
 * per-station queue; the outbox dispatcher's watchdog (2 × OCPP_CALL_TIMEOUT_MS) bounds the queueing too.
 *
 * Each payload is validated once: here (checkOutbound), because that error names what is wrong with
 * our message, while strict mode's would be recorded like a CALLERROR from the station. The strict-mode
 * validators of the CSMS (strictValidators below) skip exactly the payload objects checked here.
 */
import { createRequire } from 'node:module';
import type { Validator } from 'ocpp-rpc/lib/validator.js';
import type { OcppVersion } from '../../grid-adapters/ocpp/profiles.ts';
import { ocpp21Validator } from '../../grid-adapters/ocpp/schemas-21.ts';
import type { Config } from '../config.ts';
import type { ChannelHandler, DeliveryResult } from '../core/delivery.ts';
import type { OutboxRow } from '../store/outbox-store.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { isRpcError } from './handler-context.ts';

export interface CallTarget {
  readonly version: OcppVersion;
  call(method: string, params: unknown, options: { callTimeoutMs: number }): Promise<unknown>;
}

// The validators strict mode itself uses (the same compiled schemas; loaded through require because
// the module is CommonJS with an array as its export, which its .d.ts does not describe).
const require = createRequire(import.meta.url);
const standardValidators = require('ocpp-rpc/lib/standard-validators.js') as readonly Validator[];
const { Validator: ValidatorClass } = require('ocpp-rpc/lib/validator.js') as { Validator: typeof Validator };

export const SUBPROTOCOL: Record<OcppVersion, string> = { '1.6': 'ocpp1.6', '2.0.1': 'ocpp2.0.1', '2.1': 'ocpp2.1' };

function validatorFor(version: OcppVersion): Validator | undefined {
  // 2.1: ocpp-rpc's bundled 2.1 validator cannot find its schemas (grid-adapters/ocpp/schemas-21.ts).
  return version === '2.1' ? ocpp21Validator() : standardValidators.find((v) => v.subprotocol === SUBPROTOCOL[version]);
}

/** Validates a request payload against the official schema of a version, as strict mode will. */
export function checkOutbound(version: OcppVersion, action: string, payload: unknown): string | undefined {
  const validator = validatorFor(version);
  if (!validator) return `no schema for ${SUBPROTOCOL[version]}`;
  try {
    validator.validate(`urn:${action}.req`, payload);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Payload objects checkOutbound found valid just before the channel hands them to ocpp-rpc, with the
 * schema they passed ("<subprotocol> urn:<action>.req"). Keyed by the object itself: strict mode
 * receives the very same object, so nothing else (another payload, the same one re-sent later by the
 * closed-loop check, an inbound CALL) is ever skipped. One use each.
 */
const checkedPayloads = new WeakMap<object, string>();

/**
 * The CSMS's strict-mode validators (1.6, 2.0.1, 2.1): the same schemas, except that an outbound
 * request this channel has just validated is not validated a second time (at 10 000 stations that
 * was the same 10 000 profiles checked twice). Everything else, in both directions, is validated.
 */
export function strictValidators(): Validator[] {
  return (Object.keys(SUBPROTOCOL) as OcppVersion[]).map((version) => {
    const inner = validatorFor(version);
    if (!inner) throw new Error(`no schema for ${SUBPROTOCOL[version]}`);
    return new (class extends ValidatorClass {
      override validate(schemaId: string, params: unknown): boolean | Promise<unknown> {
        if (typeof params === 'object' && params !== null && checkedPayloads.get(params) === `${this.subprotocol} ${schemaId}`) {
          checkedPayloads.delete(params);
          return true;
        }
        return inner.validate(schemaId, params);
      }
    })(inner.subprotocol, inner._ajv);
  });
}

export interface OcppChannelDeps {
  lookup(stationId: string): CallTarget | undefined;
  config: Config;
  metrics: Metrics;
  log: Logger;
  /** Called (not awaited) after the station acknowledged a message: the closed-loop read-back hooks in here. */
  onAcked?(msg: OutboxRow, target: CallTarget): void;
}

export function createOcppChannel(deps: OcppChannelDeps): ChannelHandler {
  const { config, metrics, log } = deps;
  return async (msg) => {
    const target = deps.lookup(msg.target);
    const count = (outcome: string) => metrics.ocppMessages.inc({ direction: 'out', action: msg.action, outcome });
    if (!target) {
      // Not logged above debug: offline stations are polled again and again until they come back.
      count('unavailable');
      log.debug({ stationId: msg.target, outboxId: msg.id, action: msg.action }, 'OCPP station not connected here');
      return { outcome: 'unavailable', error: 'station not connected' };
    }
    const invalid = checkOutbound(target.version, msg.action, msg.payload);
    if (invalid) {
      count('invalid');
      return { outcome: 'rejected', error: `payload is not a valid OCPP ${target.version} ${msg.action} request: ${invalid}` };
    }
    if (typeof msg.payload === 'object' && msg.payload !== null) checkedPayloads.set(msg.payload, `${SUBPROTOCOL[target.version]} urn:${msg.action}.req`);
    let result: DeliveryResult;
    try {
      const response = await target.call(msg.action, msg.payload, { callTimeoutMs: config.OCPP_CALL_TIMEOUT_MS });
      result = fromResponse(response);
    } catch (err) {
      result = fromError(err);
    }
    count(result.outcome);
    if (result.outcome === 'acked') deps.onAcked?.(msg, target);
    if (result.outcome !== 'acked') log.info({ stationId: msg.target, outboxId: msg.id, action: msg.action, outcome: result.outcome, error: 'error' in result ? result.error : undefined }, 'OCPP CALL not acknowledged');
    return result;
  };
}

function fromResponse(response: unknown): DeliveryResult {
  const status = typeof response === 'object' && response !== null ? (response as { status?: unknown }).status : undefined;
  if (status === undefined || status === 'Accepted') return { outcome: 'acked', response };
  const reason = (response as { statusInfo?: { reasonCode?: unknown } }).statusInfo?.reasonCode;
  return { outcome: 'rejected', response, error: `station answered ${String(status)}${typeof reason === 'string' ? ` (${reason})` : ''}` };
}

function fromError(err: unknown): DeliveryResult {
  if (isRpcError(err)) {
    // A CALLERROR from the station, or its CALLRESULT failing the schema (strict mode).
    if (err.rpcErrorCode === 'InternalError') return { outcome: 'retry', error: `station answered InternalError: ${err.message}` };
    return { outcome: 'rejected', response: { errorCode: err.rpcErrorCode, errorDescription: err.message }, error: `station answered ${err.rpcErrorCode}: ${err.message}` };
  }
  // TimeoutError ("Call timeout"), an AbortError when the connection dropped, or a closed socket.
  return { outcome: 'retry', error: err instanceof Error ? err.message || err.name : String(err) };
}
