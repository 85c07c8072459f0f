import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Queryable } from '../store/db.ts';
import { iso, toMs, toMsOrNull } from '../store/rows.ts';

/**
 * OSCP peers (tables oscp_peer, oscp_request_seen). Tokens that authenticate calls to us (the one-time
 * registration token and the token we issue at registration) are kept only as SHA-256 hashes: a token
 * is 256 random bits, so an unsalted hash is enough and lets us find the peer by its token. The token
 * the peer issued to us (outbound_token) must stay usable and is stored as given.
 */
export type OscpPeerRole = 'capacity_provider' | 'flexibility_provider';
export type OscpPeerState = 'pending' | 'registered' | 'handshake_requested' | 'handshake_done' | 'revoked';

export interface OscpPeer {
  id: string;
  role: OscpPeerRole;
  name: string | null;
  state: OscpPeerState;
  baseUrl: string | null;
  version: string | null;
  /** Seconds between the heartbeats the peer requires from us; null: none required (yet). */
  heartbeatIntervalS: number | null;
  measurementConfiguration: string[] | null;
  lastHeartbeatAt: number | null;
  /** From the peer's last Heartbeat: when it goes offline unless it sends another one. */
  offlineModeAt: number | null;
  lastMessageAt: number | null;
  heartbeatSentAt: number | null;
  createdAt: number;
  /** Whether we hold a token to call the peer (the token itself never leaves this module's queries). */
  hasOutboundToken: boolean;
  /** Whether a one-time registration token is outstanding. */
  awaitingRegistration: boolean;
  /** Offline mode: the peer's offline_mode_at passed without a newer Heartbeat (see offline.ts). */
  offline: boolean;
  /** When the peer went offline (its offline_mode_at); null while online. */
  offlineSince: number | null;
  /** We sent the first Register (startRegistration) and wait for the peer's Register in reply. */
  awaitingRegisterBack: boolean;
}

interface PeerRow {
  id: string;
  role: OscpPeerRole;
  name: string | null;
  state: OscpPeerState;
  base_url: string | null;
  version: string | null;
  heartbeat_interval_s: number | null;
  measurement_configuration: string[] | null;
  last_heartbeat_at: unknown;
  offline_mode_at: unknown;
  last_message_at: unknown;
  heartbeat_sent_at: unknown;
  created_at: unknown;
  has_outbound_token: boolean;
  awaiting_registration: boolean;
  offline: boolean;
  offline_since: unknown;
  awaiting_register_back: boolean;
}

const COLS = `id, role, name, state, base_url, version, heartbeat_interval_s, measurement_configuration, last_heartbeat_at,
  offline_mode_at, last_message_at, heartbeat_sent_at, created_at, outbound_token IS NOT NULL AS has_outbound_token,
  registration_token_hash IS NOT NULL AS awaiting_registration, offline, offline_since, awaiting_register_back`;

function fromRow(r: PeerRow): OscpPeer {
  return {
    id: r.id,
    role: r.role,
    name: r.name,
    state: r.state,
    baseUrl: r.base_url,
    version: r.version,
    heartbeatIntervalS: r.heartbeat_interval_s,
    measurementConfiguration: r.measurement_configuration,
    lastHeartbeatAt: toMsOrNull(r.last_heartbeat_at),
    offlineModeAt: toMsOrNull(r.offline_mode_at),
    lastMessageAt: toMsOrNull(r.last_message_at),
    heartbeatSentAt: toMsOrNull(r.heartbeat_sent_at),
    createdAt: toMs(r.created_at),
    hasOutboundToken: r.has_outbound_token,
    awaitingRegistration: r.awaiting_registration,
    offline: r.offline,
    offlineSince: toMsOrNull(r.offline_since),
    awaitingRegisterBack: r.awaiting_register_back,
  };
}

/** 256 random bits, URL-safe: fits an `Authorization: Token <t>` header as is. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Creates a peer and its one-time registration token, handed to the peer out of band. The plain token
 * is returned once and never stored.
 */
export async function createOscpPeer(q: Queryable, input: { name: string; role: OscpPeerRole }): Promise<{ peerId: string; registrationToken: string }> {
  const peerId = randomUUID();
  const registrationToken = newToken();
  await q.query('INSERT INTO oscp_peer (id, role, name, registration_token_hash) VALUES ($1, $2, $3, $4)', [
    peerId,
    input.role,
    input.name.trim() || null,
    hashToken(registrationToken),
  ]);
  return { peerId, registrationToken };
}

/**
 * A fresh one-time registration token for an existing, non-revoked peer (e.g. our answer to its
 * Register was lost, or it must register again from scratch). Undefined when there is no such peer.
 */
export async function issueRegistrationToken(q: Queryable, peerId: string): Promise<string | undefined> {
  const token = newToken();
  const rows = await q.query(
    `UPDATE oscp_peer SET registration_token_hash = $2, updated_at = now() WHERE id = $1 AND state <> 'revoked' RETURNING id`,
    [peerId, hashToken(token)],
  );
  return rows.length > 0 ? token : undefined;
}

export async function getOscpPeer(q: Queryable, id: string): Promise<OscpPeer | undefined> {
  const rows = await q.query<PeerRow>(`SELECT ${COLS} FROM oscp_peer WHERE id = $1`, [id]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function listOscpPeers(q: Queryable): Promise<OscpPeer[]> {
  const rows = await q.query<PeerRow>(`SELECT ${COLS} FROM oscp_peer ORDER BY created_at, id`);
  return rows.map(fromRow);
}

/**
 * Revokes a peer: its tokens stay known (so its calls get 403, not 401, which tells an operator why),
 * the token we held for it is dropped, and nothing is sent to it any more.
 */
export async function revokeOscpPeer(q: Queryable, id: string): Promise<boolean> {
  const rows = await q.query(
    `UPDATE oscp_peer SET state = 'revoked', outbound_token = NULL, registration_token_hash = NULL, updated_at = now() WHERE id = $1 RETURNING id`,
    [id],
  );
  return rows.length > 0;
}

export async function findPeerByInboundTokenHash(q: Queryable, hash: string): Promise<OscpPeer | undefined> {
  const rows = await q.query<PeerRow>(`SELECT ${COLS} FROM oscp_peer WHERE inbound_token_hash = $1`, [hash]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function findPeerByRegistrationTokenHash(q: Queryable, hash: string): Promise<OscpPeer | undefined> {
  const rows = await q.query<PeerRow>(`SELECT ${COLS} FROM oscp_peer WHERE registration_token_hash = $1`, [hash]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/**
 * Records an X-Request-ID as seen for the peer (and the peer as heard from). False when it was seen
 * before: the caller answers 409 and rolls back. Inside the transaction that stores the message's
 * effect, so a rejected or failed message does not burn its id.
 */
export async function markRequestSeen(q: Queryable, peerId: string, requestId: string): Promise<boolean> {
  const rows = await q.query(
    'INSERT INTO oscp_request_seen (peer_id, request_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING request_id',
    [peerId, requestId],
  );
  if (rows.length === 0) return false;
  await q.query('UPDATE oscp_peer SET last_message_at = now() WHERE id = $1', [peerId]);
  return true;
}

/**
 * OSCP 2.0 Register, receiving side: keeps the token and URL the peer gave us, makes `inboundTokenHash`
 * (a token we issued and are about to send) the only token that authenticates the peer, and ends the
 * one-time registration token.
 */
export async function storeRegistration(
  q: Queryable,
  peerId: string,
  r: { outboundToken: string; baseUrl: string; version: string; inboundTokenHash: string },
): Promise<void> {
  await q.query(
    `UPDATE oscp_peer SET outbound_token = $2, base_url = $3, version = $4, inbound_token_hash = $5, registration_token_hash = NULL,
       state = 'registered', heartbeat_sent_at = NULL, awaiting_register_back = false, updated_at = now()
     WHERE id = $1`,
    [peerId, r.outboundToken, r.baseUrl, r.version, r.inboundTokenHash],
  );
}

/** The peer's RequiredBehaviour (from its Handshake or HandshakeAcknowledgement). */
export async function storeRequiredBehaviour(
  q: Queryable,
  peerId: string,
  rb: { heartbeatIntervalS: number | null; measurementConfiguration: string[] } | null,
  state: OscpPeerState,
): Promise<void> {
  await q.query(
    `UPDATE oscp_peer SET state = $2,
       heartbeat_interval_s = CASE WHEN $3::boolean THEN $4::integer ELSE heartbeat_interval_s END,
       measurement_configuration = CASE WHEN $3::boolean THEN $5::jsonb ELSE measurement_configuration END,
       updated_at = now()
     WHERE id = $1`,
    [peerId, state, rb !== null, rb?.heartbeatIntervalS ?? null, rb ? JSON.stringify(rb.measurementConfiguration) : null],
  );
}

/** Moves the peer to `to` only from one of `from` (so a late event cannot undo a later state). */
export async function advancePeerState(q: Queryable, peerId: string, from: OscpPeerState[], to: OscpPeerState): Promise<boolean> {
  const rows = await q.query('UPDATE oscp_peer SET state = $3, updated_at = now() WHERE id = $1 AND state = ANY($2::text[]) RETURNING id', [peerId, from, to]);
  return rows.length > 0;
}

export async function storeHeartbeat(q: Queryable, peerId: string, offlineModeAtMs: number): Promise<void> {
  await q.query('UPDATE oscp_peer SET last_heartbeat_at = now(), offline_mode_at = $2, updated_at = now() WHERE id = $1', [peerId, iso(offlineModeAtMs)]);
}

/** What the outbound channel needs to call the peer; the only reader of outbound_token. */
export async function peerEndpoint(q: Queryable, peerId: string): Promise<{ state: OscpPeerState; baseUrl: string | null; token: string | null } | undefined> {
  const rows = await q.query<{ state: OscpPeerState; base_url: string | null; outbound_token: string | null }>(
    'SELECT state, base_url, outbound_token FROM oscp_peer WHERE id = $1',
    [peerId],
  );
  const r = rows[0];
  return r ? { state: r.state, baseUrl: r.base_url, token: r.outbound_token } : undefined;
}

/**
 * Forgets X-Request-IDs received before `beforeMs` (the table grows by one row per inbound message).
 * A replay older than the retention is then accepted again, so keep it well above any peer's retry
 * window (7 days is a sensible default). Returns how many were removed.
 */
export async function pruneSeenRequests(q: Queryable, beforeMs: number): Promise<number> {
  const rows = await q.query('DELETE FROM oscp_request_seen WHERE received_at < $1 RETURNING 1', [iso(beforeMs)]);
  return rows.length;
}

/**
 * We start the token exchange (OSCP 2.0 Register, sending side): the peer handed us its one-time
 * registration token out of band; we keep it as the token to call the peer with (until its Register
 * in reply gives us the lasting one), its base_url, and the hash of the token we are about to send.
 */
export async function storeOutboundRegistration(q: Queryable, peerId: string, r: { registrationToken: string; baseUrl: string; inboundTokenHash: string }): Promise<boolean> {
  const rows = await q.query(
    `UPDATE oscp_peer SET outbound_token = $2, base_url = $3, version = '2.0', inbound_token_hash = $4, registration_token_hash = NULL,
       state = 'registered', awaiting_register_back = true, heartbeat_sent_at = NULL, updated_at = now()
     WHERE id = $1 AND state <> 'revoked' RETURNING id`,
    [peerId, r.registrationToken, r.baseUrl, r.inboundTokenHash],
  );
  return rows.length > 0;
}

/**
 * The peer's Register in reply to ours: its lasting token and base_url. The token we issued stays
 * the one that authenticates the peer (it just used it), so nothing is sent back.
 */
export async function completeRegistration(q: Queryable, peerId: string, r: { outboundToken: string; baseUrl: string; version: string }): Promise<void> {
  await q.query(
    `UPDATE oscp_peer SET outbound_token = $2, base_url = $3, version = $4, awaiting_register_back = false,
       state = 'handshake_requested', updated_at = now()
     WHERE id = $1`,
    [peerId, r.outboundToken, r.baseUrl, r.version],
  );
}

/**
 * The peer unregisters itself (DELETE /register): both tokens are dropped, so nothing more is sent to
 * it and its token stops working (401). It registers again with a new registration token.
 */
export async function unregisterPeer(q: Queryable, peerId: string): Promise<void> {
  await q.query(
    `UPDATE oscp_peer SET state = 'pending', outbound_token = NULL, inbound_token_hash = NULL, base_url = NULL, awaiting_register_back = false,
       heartbeat_interval_s = NULL, offline = false, offline_since = NULL, updated_at = now()
     WHERE id = $1`,
    [peerId],
  );
  // Nothing queued for it can be delivered any more (no token, no URL).
  await q.query(`UPDATE outbox SET state = 'superseded', updated_at = now() WHERE channel = 'oscp' AND target = $1 AND state IN ('pending','in_flight')`, [peerId]);
}
