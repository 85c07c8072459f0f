-- OpenADR 3.1.0 VTN (services/openadr) and the DR signals it feeds into the optimizer.
--
-- Objects are kept as the client sent them (body, jsonb, without the VTN metadata) next to the columns
-- the VTN filters on. `seq` gives every object a stable order for skip/limit paging (Definitions,
-- Response Filtering). Names are unique where the Definitions say so (Object names): programName per
-- VTN, venName per VTN, resourceName per ven.

-- OAuth2 clients (client credentials). Only a SHA-256 of the secret (256 random bits) is stored.
CREATE TABLE openadr_client (
  id           text PRIMARY KEY,
  name         text NOT NULL,
  role         text NOT NULL CHECK (role IN ('bl','ven')),
  scopes       text[] NOT NULL,
  secret_hash  text NOT NULL,
  revoked      boolean NOT NULL DEFAULT false,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE openadr_program (
  id            text PRIMARY KEY,
  seq           bigserial UNIQUE,
  program_name  text NOT NULL UNIQUE,
  -- the topology node (grid area or a node below it) the program's events apply to; null: not bound
  node_id       text REFERENCES topology_node(id) ON DELETE SET NULL,
  targets       text[] NOT NULL DEFAULT '{}',
  body          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  modified_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE openadr_event (
  id            text PRIMARY KEY,
  seq           bigserial UNIQUE,
  program_id    text NOT NULL REFERENCES openadr_program(id) ON DELETE CASCADE,
  targets       text[] NOT NULL DEFAULT '{}',
  -- lifespan of the event (null end: unbounded), for the `active` filter
  starts_at     timestamptz,
  ends_at       timestamptz,
  body          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  modified_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX openadr_event_program ON openadr_event (program_id, seq);

CREATE TABLE openadr_ven (
  id            text PRIMARY KEY,
  seq           bigserial UNIQUE,
  client_id     text NOT NULL,
  ven_name      text NOT NULL UNIQUE,
  targets       text[] NOT NULL DEFAULT '{}',
  body          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  modified_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX openadr_ven_client ON openadr_ven (client_id);

CREATE TABLE openadr_resource (
  id            text PRIMARY KEY,
  seq           bigserial UNIQUE,
  ven_id        text NOT NULL REFERENCES openadr_ven(id) ON DELETE CASCADE,
  client_id     text NOT NULL,
  resource_name text NOT NULL,
  targets       text[] NOT NULL DEFAULT '{}',
  body          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  modified_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (ven_id, resource_name)
);

CREATE TABLE openadr_report (
  id            text PRIMARY KEY,
  seq           bigserial UNIQUE,
  client_id     text NOT NULL,
  event_id      text NOT NULL REFERENCES openadr_event(id) ON DELETE CASCADE,
  program_id    text NOT NULL,
  client_name   text NOT NULL,
  body          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  modified_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE openadr_subscription (
  id            text PRIMARY KEY,
  seq           bigserial UNIQUE,
  client_id     text NOT NULL,
  client_name   text NOT NULL,
  program_id    text,
  body          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  modified_at   timestamptz NOT NULL DEFAULT now()
);

-- Canonical DR signals derived from events (OpenADR events of programs bound to a node; later other
-- sources). kind: import_limit / export_limit (kW), price / export_price (currency per unit in `unit`),
-- simple (level 0..3). Replaced as a whole per (source, event) when the event changes.
CREATE TABLE dr_signal (
  source        text NOT NULL,
  event_id      text NOT NULL,
  node_id       text NOT NULL REFERENCES topology_node(id) ON DELETE CASCADE,
  grid_area_id  text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('import_limit','export_limit','price','export_price','simple')),
  start_at      timestamptz NOT NULL,
  end_at        timestamptz NOT NULL,
  value         double precision NOT NULL,
  unit          text,
  priority      integer,
  PRIMARY KEY (source, event_id, node_id, kind, start_at)
);
CREATE INDEX dr_signal_node ON dr_signal (node_id, kind, end_at);

-- Opt-outs: OpenADR 3 has none; a VEN (or the operator) declares that a resource does not follow an
-- event (see docs/openadr.md). Signals of an opted-out event are ignored for that node.
CREATE TABLE dr_opt_out (
  event_id      text NOT NULL,
  node_id       text NOT NULL REFERENCES topology_node(id) ON DELETE CASCADE,
  source        text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (event_id, node_id)
);

-- Webhook deliveries of OpenADR notifications go through the outbox on channel 'openadr'.
ALTER TABLE outbox DROP CONSTRAINT outbox_channel_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_channel_check CHECK (channel IN ('ocpp','oscp','mqtt','openadr'));
