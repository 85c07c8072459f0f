/**
 * What an OCPP message handler gets, and how handlers are attached to a station connection.
 *
 * Handlers receive params that ocpp-rpc has already validated against the official schema of the
 * connection's version (strict mode), so the typed view in grid-adapters/ocpp/wire-*.ts holds.
 * A handler that throws anything but an RPC error answers InternalError: the cause is logged here
 * with the station id, never sent to the station, and never takes the process down.
 */
import { createRequire } from 'node:module';
import { createRPCError } from 'ocpp-rpc';
import type { OcppVersion } from '../../grid-adapters/ocpp/profiles.ts';
import { actions21 } from '../../grid-adapters/ocpp/schemas-21.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Db } from '../store/db.ts';
import type { MeterCheck } from './meter-ingest.ts';

export interface CsmsEvents {
  areaChanged(gridAreaId: string, reason: string): void;
  stationConnected(stationId: string, gridAreaId: string): void;
}

export interface HandlerContext {
  stationId: string;
  gridAreaId: string;
  version: OcppVersion;
  db: Db;
  log: Logger;
  config: Config;
  /** Tells the orchestrator the area changed. Call it after the transaction committed. Never throws. */
  areaChanged(reason: string): void;
  /** Tells the orchestrator the station (re)booted. Never throws. */
  stationConnected(): void;
  /**
   * Call from BootNotification: once the answer is on the wire, reads the station's capabilities,
   * queues the failsafe TxDefaultProfile, then calls stationConnected(). Never throws.
   */
  booted(): void;
  /** Meter values vs setpoints (closed loop): passed to ingestReadings. */
  meterCheck: MeterCheck;
}

/** A handler over untyped params, as the connection calls it. */
export type Handler = (params: unknown, ctx: HandlerContext) => Promise<object>;
export type HandlerTable = Record<string, Handler>;

/**
 * Declares the params type of a handler. The cast is sound because strict mode validated the params
 * against the official schema before the handler runs (see the file comment).
 */
export function typed<P>(fn: (params: P, ctx: HandlerContext) => Promise<object>): Handler {
  return (params, ctx) => fn(params as P, ctx);
}

interface RpcLikeError {
  rpcErrorCode: string;
}

export function isRpcError(err: unknown): err is Error & RpcLikeError {
  return err instanceof Error && typeof (err as Partial<RpcLikeError>).rpcErrorCode === 'string';
}

/** The part of an ocpp-rpc connection handlers are attached to. */
export interface HandlerHost {
  handle(method: string, handler: (call: { params?: unknown }) => Promise<Record<string, unknown>>): void;
}

/**
 * Attaches the version's handlers. Every other action of the version's schema is answered NotSupported
 * ("recognized but not supported", OCPP-J 2.0.1 §4.3 / 1.6 §4.2.3); an action the version does not
 * define at all gets ocpp-rpc's NotImplemented ("not known"). No wildcard handler on purpose: with
 * one, strict mode would answer unknown actions ProtocolError (no schema) instead of NotImplemented.
 */
export function attachHandlers(host: HandlerHost, table: HandlerTable, ctx: HandlerContext): void {
  for (const [action, handler] of Object.entries(table)) {
    host.handle(action, async ({ params }) => {
      try {
        return (await handler(params, ctx)) as Record<string, unknown>;
      } catch (err) {
        if (isRpcError(err)) throw err;
        ctx.log.error({ err, action }, 'OCPP handler failed: answering InternalError');
        throw createRPCError('InternalError', 'internal error', {});
      }
    });
  }
  for (const action of knownActions(ctx.version)) {
    if (table[action]) continue;
    host.handle(action, async () => {
      throw createRPCError('NotSupported', `${action} is not supported by this CSMS`, {});
    });
  }
}

const requireJson = createRequire(import.meta.url);
const known = new Map<OcppVersion, string[]>();

/** Actions with a request schema in the official schema set ocpp-rpc bundles for the version. */
export function knownActions(version: OcppVersion): string[] {
  let list = known.get(version);
  if (!list && version === '2.1') {
    list = actions21();
    known.set(version, list);
  }
  if (!list) {
    const file = version === '1.6' ? 'ocpp-rpc/lib/schemas/ocpp1_6.json' : 'ocpp-rpc/lib/schemas/ocpp2_0_1.json';
    const schemas = requireJson(file) as { $id?: string }[];
    list = schemas.flatMap((s) => {
      const m = /^urn:(.+)\.req$/.exec(s.$id ?? '');
      return m ? [m[1]!] : [];
    });
    known.set(version, list);
  }
  return list;
}
