-- OCPP external charging limits (issue #6): what a station reports with NotifyChargingLimit
-- (OCPP 2.0.1 / 2.1 use cases K12/K14) and withdraws with ClearedChargingLimit (K13). One row per
-- (station, EVSE, source); evse_id 0 = the whole station (grid connection). Plain PostgreSQL; runs on PGlite.
CREATE TABLE ocpp_external_limit (
  station_id        text NOT NULL REFERENCES topology_node(id) ON DELETE CASCADE,
  -- the OCPP evseId (not the topology node id); 0 = the station as a whole
  evse_id           integer NOT NULL DEFAULT 0 CHECK (evse_id >= 0),
  -- chargingLimitSource: EMS, Other, SO, CSO (2.1: any string of at most 20 characters)
  source            text NOT NULL,
  is_grid_critical  boolean,
  -- 2.1 isLocalGeneration: the "limit" is extra capacity from local generation, not a cap
  is_local_generation boolean,
  -- the reported chargingSchedule array as received (may be empty: a limit without a schedule)
  schedules         jsonb NOT NULL DEFAULT '[]'::jsonb,
  reported_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (station_id, evse_id, source)
);
