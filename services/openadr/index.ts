/**
 * OpenADR 3.1.0: gridflex as VTN (for aggregators' DR programs) and the DR signals its events feed into
 * the optimizer. What the composition root and the admin API use; everything else here is internal.
 * Rules are cited next to the code as "Definitions <section>" / "User Guide <section>".
 */
export { OPENADR_301_BASE_PATH } from './vtn-301.ts';
export { createOpenadrVtn, OPENADR_VTN_BASE_PATH, type OpenadrVtn, type OpenadrVtnDeps } from './vtn.ts';
export { createOpenadrClient, listOpenadrClients, revokeOpenadrClient, DEFAULT_SCOPES, type OpenadrRole } from './auth.ts';
export { openadrEnvelopeSource, loadDrSignals, optOutOfEvent, cancelOptOut } from './signal-store.ts';
export { createOpenadrChannel } from './webhook-channel.ts';
export { OPENADR_CHANNEL } from './notify.ts';
export { NODE_ATTRIBUTE } from './program-routes.ts';
export { OPT_OUT_PAYLOAD } from './report-routes.ts';
export { openadrAdminRoutes } from './admin-routes.ts';
export { createOpenadrVenClient, openadrVenFromConfig, OPENADR_VEN_CALLBACK_PATH, type VenClient, type VenClientOptions, type SyncResult } from './ven-client.ts';
export { openadrPriceSource } from './price-source.ts';
export { openadrSimpleEnvelopeSource, parseSimpleReductions } from './simple-levels.ts';
