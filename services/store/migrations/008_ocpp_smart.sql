-- OCPP smart charging (issue #6): station capabilities read at boot, per-station security profile,
-- closed-loop compliance records and the non-compliance flag. Plain PostgreSQL; runs on PGlite.

-- What a station reported at its last boot (1.6 GetConfiguration, 2.0.1/2.1 GetVariables on
-- SmartChargingCtrlr). NULL = not reported: the profile defaults apply (48 periods, unit W).
CREATE TABLE ocpp_station_capability (
  station_id      text PRIMARY KEY REFERENCES topology_node(id) ON DELETE CASCADE,
  ocpp_version    text NOT NULL,
  max_periods     integer CHECK (max_periods >= 0),
  rate_units      text[],
  max_stack_level integer CHECK (max_stack_level >= 0),
  max_profiles    integer CHECK (max_profiles >= 0),
  smart_charging  boolean,
  raw             jsonb,
  read_at         timestamptz NOT NULL DEFAULT now()
);

-- OCPP security profile per station: 1 = HTTP Basic, 2 = TLS + Basic, 3 = mutual TLS (identity from
-- the client certificate). No row = profile 1.
CREATE TABLE ocpp_station_security (
  station_id       text PRIMARY KEY REFERENCES topology_node(id) ON DELETE CASCADE,
  security_profile smallint NOT NULL CHECK (security_profile BETWEEN 1 AND 3),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Closed loop: every check of what a station does against what gridflex sent.
-- kind 'composite': GetCompositeSchedule read back after an acknowledged SetChargingProfile;
-- kind 'meter': a measured Power.Active.Import against the setpoint in force.
CREATE TABLE ocpp_compliance (
  id            bigserial,
  at            timestamptz NOT NULL DEFAULT now(),
  station_id    text NOT NULL,
  grid_area_id  text NOT NULL,
  ocpp_evse_id  integer NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('composite','meter')),
  ok            boolean NOT NULL,
  excess_kw     double precision NOT NULL DEFAULT 0,
  detail        jsonb,
  PRIMARY KEY (station_id, at, id)
);
CREATE INDEX ocpp_compliance_area ON ocpp_compliance (grid_area_id, at DESC);

-- Stations that do not follow their profiles: re-sent, then flagged for the operator.
CREATE TABLE ocpp_station_flag (
  station_id        text PRIMARY KEY REFERENCES topology_node(id) ON DELETE CASCADE,
  noncompliant      boolean NOT NULL DEFAULT false,
  resends           integer NOT NULL DEFAULT 0,
  reason            text,
  last_deviation_at timestamptz,
  flagged_at        timestamptz
);
