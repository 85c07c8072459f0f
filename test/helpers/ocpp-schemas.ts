/**
 * The official OCPP JSON schemas as bundled with ocpp-rpc, loaded here independently of the CSMS code
 * (ocpp-rpc's own createValidator: Ajv with formats and its float-tolerant multipleOf, exactly what
 * strict mode applies on the wire).
 *
 * OCPP 2.1: ocpp-rpc 2.2 ships the 2.1 schemas with `$id` `urn:<Action>Request|Response`, but looks them
 * up as `urn:<Action>.req|.conf`; the ids are re-keyed here (schemas otherwise untouched) so an
 * independent strict 2.1 client can be built (`ocpp21TestValidator`).
 */
import { createRequire } from 'node:module';
import { createValidator } from 'ocpp-rpc';

const requireJson = createRequire(import.meta.url);

function rekeyed21(): object[] {
  // JSON round trip with a replacer: drop `additionalProperties` on string enums (no effect there; Ajv
  // would log a strict-mode warning per definition).
  const text = JSON.stringify(requireJson('ocpp-rpc/lib/schemas/ocpp2_1.json'), function (this: Record<string, unknown>, key: string, value: unknown) {
    return key === 'additionalProperties' && typeof this.type === 'string' && this.type !== 'object' ? undefined : value;
  });
  return (JSON.parse(text) as { $id?: string }[]).map((s) => {
    const m = /^urn:(.+?)(Request|Response)$/.exec(s.$id ?? '');
    return m ? { ...s, $id: `urn:${m[1]}.${m[2] === 'Request' ? 'req' : 'conf'}` } : s;
  });
}

const validators = {
  '1.6': createValidator('ocpp1.6', requireJson('ocpp-rpc/lib/schemas/ocpp1_6.json') as object[]),
  '2.0.1': createValidator('ocpp2.0.1', requireJson('ocpp-rpc/lib/schemas/ocpp2_0_1.json') as object[]),
  '2.1': createValidator('ocpp2.1', rekeyed21()),
};

/** A strict-mode validator for 'ocpp2.1' (pass as RPCClient strictModeValidators). */
export const ocpp21TestValidator = validators['2.1'];

/** Throws (an RPCError naming the first violation) when `payload` is not a valid `<action>.req|.conf`. */
export function assertValidOcpp(version: '1.6' | '2.0.1' | '2.1', action: string, kind: 'req' | 'conf', payload: unknown): void {
  validators[version].validate(`urn:${action}.${kind}`, payload);
}
