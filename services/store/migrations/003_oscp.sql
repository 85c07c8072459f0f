-- OSCP 2.0 peer state that 001 has no column for.
-- measurement_configuration: the peer's RequiredBehaviour.measurement_configuration (Handshake /
--   HandshakeAcknowledgement), a JSON array of 'CONTINUOUS' / 'INTERMITTENT'.
-- heartbeat_sent_at: when we last queued our own Heartbeat to the peer, so the scheduler (every 10 s,
--   possibly on several instances) knows whose interval has elapsed without reading the outbox.
ALTER TABLE oscp_peer ADD COLUMN measurement_configuration jsonb;
ALTER TABLE oscp_peer ADD COLUMN heartbeat_sent_at timestamptz;
