-- gridflex schema, version 1: topology, credentials, OSCP peers, forecasts, sessions, measurements,
-- allocations, setpoints, outbox, audit. Plain PostgreSQL (>= 14); TimescaleDB hypertables are added by
-- 002 only where the extension exists. Time-series tables keep their time column in the primary key so
-- they can become hypertables.

CREATE TABLE topology_node (
  id              text PRIMARY KEY,
  kind            text NOT NULL CHECK (kind IN ('grid_area','connection_point','cpo','site','station','evse')),
  parent_id       text REFERENCES topology_node(id) ON DELETE CASCADE,
  grid_area_id    text NOT NULL,
  name            text,
  import_limit_kw double precision CHECK (import_limit_kw >= 0),
  export_limit_kw double precision CHECK (export_limit_kw >= 0),
  max_power_kw    double precision CHECK (max_power_kw >= 0),
  min_power_kw    double precision CHECK (min_power_kw >= 0),
  -- station: OCPP connection details; evse: OCPP evse id / 1.6 connector id
  ocpp_evse_id    integer,
  voltage_v       double precision,
  phases          integer CHECK (phases IN (1, 3)),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'grid_area') = (parent_id IS NULL))
);
CREATE INDEX topology_node_parent ON topology_node (parent_id);
CREATE INDEX topology_node_area ON topology_node (grid_area_id);

-- An OSCP group id names a node (usually a grid area or connection point).
CREATE TABLE oscp_group (
  group_id   text PRIMARY KEY,
  node_id    text NOT NULL REFERENCES topology_node(id) ON DELETE CASCADE
);

-- Station credentials for OCPP security profile 1 (HTTP Basic). Only a scrypt hash is kept.
CREATE TABLE station_credential (
  station_id    text PRIMARY KEY REFERENCES topology_node(id) ON DELETE CASCADE,
  password_hash text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE station_state (
  station_id       text PRIMARY KEY REFERENCES topology_node(id) ON DELETE CASCADE,
  ocpp_version     text,
  vendor           text,
  model            text,
  firmware         text,
  connected        boolean NOT NULL DEFAULT false,
  last_seen_at     timestamptz,
  last_boot_at     timestamptz,
  status_by_evse   jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- OSCP peers (a DSO acting as Capacity Provider toward us, later CPOs). Tokens are stored as SHA-256
-- hashes where they authenticate inbound calls; the token we present to the peer must be kept usable.
CREATE TABLE oscp_peer (
  id                   text PRIMARY KEY,
  role                 text NOT NULL CHECK (role IN ('capacity_provider','flexibility_provider')),
  name                 text,
  inbound_token_hash   text UNIQUE,         -- the token the peer uses to call us (we issued it)
  registration_token_hash text UNIQUE,      -- one-time token handed out of band, replaced at register
  outbound_token       text,                -- the token we use to call the peer (the peer issued it)
  base_url             text,
  version              text,
  state                text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','registered','handshake_requested','handshake_done','revoked')),
  heartbeat_interval_s integer,
  last_heartbeat_at    timestamptz,
  offline_mode_at      timestamptz,
  last_message_at      timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Replay protection: each X-Request-ID is accepted once per peer.
CREATE TABLE oscp_request_seen (
  peer_id     text NOT NULL REFERENCES oscp_peer(id) ON DELETE CASCADE,
  request_id  text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (peer_id, request_id)
);

-- A forecast message: one version of a node's capacity envelope.
CREATE TABLE forecast (
  id          bigserial PRIMARY KEY,
  node_id     text NOT NULL REFERENCES topology_node(id) ON DELETE CASCADE,
  source      text NOT NULL,            -- e.g. 'oscp:<peer id>', 'api'
  type        text NOT NULL CHECK (type IN ('CONSUMPTION','GENERATION','FALLBACK_CONSUMPTION','FALLBACK_GENERATION','OPTIMUM')),
  request_id  text,
  received_at timestamptz NOT NULL DEFAULT now(),
  raw         jsonb
);
CREATE INDEX forecast_node ON forecast (node_id, type, received_at DESC);

-- Forecast blocks as a time series of kW values per interval (already converted from A/W).
CREATE TABLE forecast_block (
  forecast_id bigint NOT NULL REFERENCES forecast(id) ON DELETE CASCADE,
  node_id     text NOT NULL,
  type        text NOT NULL,
  start_at    timestamptz NOT NULL,
  end_at      timestamptz NOT NULL,
  kw          double precision NOT NULL,
  PRIMARY KEY (node_id, type, start_at, forecast_id)
);

CREATE TABLE charging_session (
  id              text PRIMARY KEY,
  station_id      text NOT NULL REFERENCES topology_node(id) ON DELETE CASCADE,
  evse_id         text NOT NULL REFERENCES topology_node(id) ON DELETE CASCADE,
  transaction_id  text NOT NULL,
  id_token        text,
  started_at      timestamptz NOT NULL,
  stopped_at      timestamptz,
  departure_at    timestamptz,
  energy_needed_kwh double precision,
  max_power_kw    double precision,
  min_power_kw    double precision,
  energy_delivered_kwh double precision NOT NULL DEFAULT 0,
  meter_start_wh  double precision,
  stop_reason     text,
  UNIQUE (station_id, transaction_id)
);
CREATE INDEX charging_session_active ON charging_session (evse_id) WHERE stopped_at IS NULL;

CREATE TABLE measurement (
  time        timestamptz NOT NULL,
  node_id     text NOT NULL,
  session_id  text,
  measurand   text NOT NULL,
  value       double precision NOT NULL,
  unit        text NOT NULL,
  PRIMARY KEY (node_id, measurand, time)
);

CREATE TABLE allocation_run (
  id            bigserial PRIMARY KEY,
  grid_area_id  text NOT NULL,
  trigger       text NOT NULL,
  horizon_start timestamptz NOT NULL,
  interval_min  integer NOT NULL,
  interval_count integer NOT NULL,
  status        text NOT NULL,
  reason        text,
  objective     double precision,
  solve_ms      double precision,
  inputs_digest text NOT NULL,
  verified      boolean NOT NULL,
  violations    jsonb,
  unmet         jsonb,
  node_limits   jsonb,
  node_totals   jsonb,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX allocation_run_area ON allocation_run (grid_area_id, created_at DESC);

CREATE TABLE setpoint (
  run_id     bigint NOT NULL REFERENCES allocation_run(id) ON DELETE CASCADE,
  evse_id    text NOT NULL,
  start_at   timestamptz NOT NULL,
  kw         double precision NOT NULL,
  cap_kw     double precision NOT NULL,
  session_id text,
  PRIMARY KEY (evse_id, start_at, run_id)
);

-- Every outbound message. A row is the unit of delivery: retried until acknowledged or superseded.
CREATE TABLE outbox (
  id              bigserial PRIMARY KEY,
  channel         text NOT NULL CHECK (channel IN ('ocpp','oscp','mqtt')),
  target          text NOT NULL,
  action          text NOT NULL,
  payload         jsonb NOT NULL,
  dedupe_key      text,                      -- a newer message with the same key supersedes older pending ones
  state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','in_flight','acked','rejected','failed','superseded')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error      text,
  response        jsonb,
  run_id          bigint,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_due ON outbox (channel, target, next_attempt_at) WHERE state IN ('pending','in_flight');
CREATE INDEX outbox_key ON outbox (dedupe_key) WHERE state IN ('pending','in_flight');

CREATE TABLE audit_log (
  id        bigserial PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),
  actor     text NOT NULL,
  action    text NOT NULL,
  subject   text,
  detail    jsonb
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
