-- Only where TimescaleDB is available (see migrate.ts). Time-series tables become hypertables;
-- every query on them is plain SQL and also runs without the extension.
CREATE EXTENSION IF NOT EXISTS timescaledb;
SELECT create_hypertable('measurement', 'time', migrate_data => true, if_not_exists => true);
SELECT create_hypertable('forecast_block', 'start_at', migrate_data => true, if_not_exists => true);
SELECT create_hypertable('setpoint', 'start_at', migrate_data => true, if_not_exists => true);
