-- Energy a charging session exported (V2X discharging, OCPP 2.1), metered from Energy.Active.Export.Register
-- like energy_delivered_kwh is from the import register, so the V2X SoC follows discharging too.
-- Plain PostgreSQL; runs on PGlite.
ALTER TABLE charging_session
  -- kWh exported since export_meter_start_wh (never decreases: a late reading cannot undo a newer one)
  ADD COLUMN energy_exported_kwh   double precision NOT NULL DEFAULT 0 CHECK (energy_exported_kwh >= 0),
  -- the session's first Energy.Active.Export.Register reading (Wh): the baseline, as no start message carries one
  ADD COLUMN export_meter_start_wh double precision,
  -- energy_exported_kwh when v2x_soc_kwh was reported:
  -- the SoC now = v2x_soc_kwh + (delivered now - v2x_soc_delivered_kwh) - (exported now - this)
  ADD COLUMN v2x_soc_exported_kwh  double precision;
