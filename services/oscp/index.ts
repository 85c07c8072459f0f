/**
 * OSCP 2.0, gridflex as Flexibility Provider (toward DSOs) and as Capacity Provider (toward CPOs): what
 * the composition root, the scheduler, the orchestrator and the admin API use. Everything else in this
 * folder is internal.
 *
 * Rules are cited next to the code as "OSCP 2.0 <message or section title>" (Register, Handshake,
 * HTTP headers, Error, ...). Section numbers are left out on purpose: the OCA PDF (FINAL 2020-10-12)
 * was not available to check them; the wire rules come from the OCA JSON schemas in ../shared/specs.
 */
export { createOscpFpRouter, type OscpDeps } from './fp-routes.ts';
export { FP_BASE_PATH, fpBaseUrl, CP_BASE_PATH, cpBaseUrl, type OscpCpDeps } from './oscp-deps.ts';
export { createOscpCpRouter } from './cp-routes.ts';
export { publishCpoForecasts } from './cp-publish.ts';
export { oscpAfterAllocation, type OscpAllocationConfig } from './after-allocation.ts';
export { checkMeasuredCompliance, enqueueMeasurements, measuredByEvse, measuredPowerKw, reportPlanCompliance, requestCapacityAdjustments } from './fp-reports.ts';
export {
  checkOfflinePeers,
  loadOscpEnvelopes,
  oscpEnvelopeLoader,
  offlineNodes,
  peerOnlineGauge,
  refreshPeerGauge,
  type OfflineCheck,
  type OscpEnvelopeOptions,
} from './offline.ts';
export { startRegistration } from './registration.ts';
export { oscpAdminRoutes } from './admin-routes.ts';
export { oscpTick, type OscpTickConfig } from './oscp-tick.ts';
export { deleteOscpCpoGroup, listOscpCpoGroups, setOscpCpoGroup } from './oscp-groups.ts';
export { createOscpChannel, outboxRequestId, type OscpChannelDeps } from './oscp-channel.ts';
export { enqueueHeartbeats, heartbeatsDue, type HeartbeatDue } from './heartbeats.ts';
export {
  createOscpPeer,
  getOscpPeer,
  issueRegistrationToken,
  listOscpPeers,
  pruneSeenRequests,
  revokeOscpPeer,
  type OscpPeer,
  type OscpPeerRole,
  type OscpPeerState,
} from './peer-store.ts';
