/**
 * OSCP 2.0, gridflex as Flexibility Provider: what the composition root, the scheduler and the admin
 * API use. Everything else in this folder is internal.
 *
 * Rules are cited next to the code as "OSCP 2.0 <message or section title>" (Register, Handshake,
 * HTTP headers, Error, ...). Section numbers are left out on purpose: the OCA PDF (FINAL 2020-10-12)
 * was not available to check them; the wire rules come from the OCA JSON schemas in ../shared/specs.
 */
export { createOscpFpRouter, type OscpDeps } from './fp-routes.ts';
export { FP_BASE_PATH, fpBaseUrl } from './oscp-deps.ts';
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
