/**
 * The official OCPP JSON schemas as bundled with ocpp-rpc, loaded here independently of the CSMS code
 * (ocpp-rpc's own createValidator: Ajv with formats and its float-tolerant multipleOf, exactly what
 * strict mode applies on the wire).
 */
import { createRequire } from 'node:module';
import { createValidator } from 'ocpp-rpc';

const requireJson = createRequire(import.meta.url);
const validators = {
  '1.6': createValidator('ocpp1.6', requireJson('ocpp-rpc/lib/schemas/ocpp1_6.json') as object[]),
  '2.0.1': createValidator('ocpp2.0.1', requireJson('ocpp-rpc/lib/schemas/ocpp2_0_1.json') as object[]),
};

/** Throws (an RPCError naming the first violation) when `payload` is not a valid `<action>.req|.conf`. */
export function assertValidOcpp(version: '1.6' | '2.0.1', action: string, kind: 'req' | 'conf', payload: unknown): void {
  validators[version].validate(`urn:${action}.${kind}`, payload);
}
