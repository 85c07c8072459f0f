-- OSCP 2.0 complete: offline mode, gridflex as Capacity Provider toward CPOs, outbound reports.
--
-- oscp_peer.offline / offline_since: set by checkOfflinePeers when the peer's offline_mode_at passed
--   without a newer Heartbeat; cleared when a Heartbeat arrives. While a Capacity Provider peer is
--   offline, its groups' FALLBACK_* forecasts apply from the first interval starting at offline_since.
-- oscp_peer.awaiting_register_back: we sent the first Register (startRegistration); the peer's Register
--   in reply completes the exchange and is not answered with another Register.
-- oscp_peer.measurements_sent_at: end of the last measurement period queued to the peer.
ALTER TABLE oscp_peer ADD COLUMN offline boolean NOT NULL DEFAULT false;
ALTER TABLE oscp_peer ADD COLUMN offline_since timestamptz;
ALTER TABLE oscp_peer ADD COLUMN awaiting_register_back boolean NOT NULL DEFAULT false;
ALTER TABLE oscp_peer ADD COLUMN measurements_sent_at timestamptz;

-- Groups that gridflex, as Capacity Provider, publishes to a CPO (a Flexibility Provider peer). The
-- group id is agreed with that CPO, so it is unique per peer only. last_digest: the last published
-- forecast, so an unchanged share is not sent again.
CREATE TABLE oscp_cpo_group (
  peer_id     text NOT NULL REFERENCES oscp_peer(id) ON DELETE CASCADE,
  group_id    text NOT NULL,
  node_id     text NOT NULL REFERENCES topology_node(id) ON DELETE CASCADE,
  last_digest text,
  PRIMARY KEY (peer_id, group_id)
);
CREATE INDEX oscp_cpo_group_node ON oscp_cpo_group (node_id);

-- Messages received from CPOs as Capacity Provider (AdjustGroupCapacityForecast,
-- GroupCapacityComplianceError, UpdateGroupMeasurements, UpdateAssetMeasurements): the raw body,
-- with the group's node, for the operator, the optimizer and the dashboards.
CREATE TABLE oscp_inbound_report (
  id          bigserial PRIMARY KEY,
  peer_id     text NOT NULL REFERENCES oscp_peer(id) ON DELETE CASCADE,
  message     text NOT NULL CHECK (message IN ('adjust_group_capacity_forecast','group_capacity_compliance_error','update_group_measurements','update_asset_measurements')),
  group_id    text,
  node_id     text,
  request_id  text NOT NULL,
  body        jsonb NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oscp_inbound_report_peer ON oscp_inbound_report (peer_id, message, received_at DESC);

-- Outbound reports as Flexibility Provider (compliance errors, adjustment requests): one row per peer,
-- group, kind and period, so a report is queued once even when the scheduler runs on several instances.
CREATE TABLE oscp_outbound_report (
  peer_id     text NOT NULL REFERENCES oscp_peer(id) ON DELETE CASCADE,
  group_id    text NOT NULL,
  kind        text NOT NULL,
  period_at   timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (peer_id, group_id, kind, period_at)
);
