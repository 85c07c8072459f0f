/**
 * Messages gridflex does not act on but answers positively, because stations send them routinely
 * (at boot, after firmware or log jobs) and some retry a NotSupported answer forever. Nothing is
 * stored; the log line is the record. DataTransfer gets UnknownVendorId: we define no vendor
 * extensions (OCPP 1.6 §4.3, 2.0.1 P01).
 */
import { typed, type HandlerTable } from './handler-context.ts';

function acknowledge(action: string) {
  return typed<Record<string, unknown>>(async (p, ctx) => {
    // Reports can be large (NotifyReport): the body only at debug level.
    ctx.log.info({ action }, 'station notification acknowledged');
    ctx.log.debug({ action, params: p }, 'station notification body');
    return {};
  });
}

const dataTransfer = typed<{ vendorId: string; messageId?: string }>(async (p, ctx) => {
  ctx.log.info({ vendorId: p.vendorId, messageId: p.messageId ?? null }, 'DataTransfer: unknown vendor');
  return { status: 'UnknownVendorId' };
});

function table(actions: string[]): HandlerTable {
  return Object.fromEntries(actions.map((a) => [a, acknowledge(a)]));
}

export const notifications201: HandlerTable = {
  ...table(['SecurityEventNotification', 'FirmwareStatusNotification', 'LogStatusNotification', 'NotifyEvent', 'NotifyReport']),
  DataTransfer: dataTransfer,
};

export const notifications16: HandlerTable = {
  ...table(['DiagnosticsStatusNotification', 'FirmwareStatusNotification', 'SecurityEventNotification', 'LogStatusNotification', 'SignedFirmwareStatusNotification']),
  DataTransfer: dataTransfer,
};
