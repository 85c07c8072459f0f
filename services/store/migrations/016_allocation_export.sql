-- V2G planning (issue #4): limits the input made impossible to keep (the optimizer's penalized slack,
-- e.g. more required export than the V2G EVs can give) per run, and each EVSE's discharge cap per interval.
ALTER TABLE allocation_run ADD COLUMN limit_violations jsonb;
ALTER TABLE setpoint ADD COLUMN export_cap_kw double precision;
