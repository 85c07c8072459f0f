-- OCPP 2.1 V2X charging needs, the EV's schedule-entry limit and priority charging on a charging session (issue #6).
-- V2X state is kept in the session's own energy frame (grid-adapters/ocpp/charging-needs.ts, v2xToDemand):
-- 0 kWh = the lowest of the EV's SoC and its V2X minimum when the needs were reported, so every value
-- is >= 0 as the optimizer's V2gState requires. NULL = no V2X (the EVSE/EV cannot or may not discharge).
-- Plain PostgreSQL; runs on PGlite.
ALTER TABLE charging_session
  -- most the EV may discharge (kW, a magnitude); set only for 2.1 bidirectional (BPT) transfer modes
  ADD COLUMN v2x_max_discharge_kw double precision CHECK (v2x_max_discharge_kw >= 0),
  -- discharging must not take the SoC below this (kWh, session frame)
  ADD COLUMN v2x_min_soc_kwh      double precision CHECK (v2x_min_soc_kwh >= 0),
  -- SoC when the needs were reported (kWh, session frame)
  ADD COLUMN v2x_soc_kwh          double precision CHECK (v2x_soc_kwh >= 0),
  -- SoC ceiling (kWh, session frame): the EV's maximum SoC
  ADD COLUMN v2x_capacity_kwh     double precision CHECK (v2x_capacity_kwh >= 0),
  -- energy_delivered_kwh when v2x_soc_kwh was reported: the SoC now = v2x_soc_kwh + (delivered now - this)
  ADD COLUMN v2x_soc_delivered_kwh double precision,
  -- 2.1 chargingNeeds.controlMode (ScheduledControl, DynamicControl) and mobilityNeedsMode (EVCC, EVCC_SECC)
  ADD COLUMN control_mode         text,
  ADD COLUMN mobility_needs_mode  text,
  -- NotifyEVChargingNeeds.maxScheduleTuples: ISO 15118-2 MaxEntriesSAScheduleTuple (PMax + tariff entries per tuple)
  ADD COLUMN max_schedule_tuples  integer CHECK (max_schedule_tuples >= 0),
  -- 2.1 priority charging: NotifyPriorityCharging.activated, or an Accepted UsePriorityCharging
  ADD COLUMN priority             boolean NOT NULL DEFAULT false;
