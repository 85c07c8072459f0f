-- Several instances on one database: the instance holding a station's OCPP connection. Set when the
-- station connects, cleared at its disconnect only by that same instance (a conditional UPDATE): a
-- half-dead socket noticed late on instance A must not clear a newer connection to instance B. The
-- outbox dispatcher claims a station's OCPP messages only where this names its own instance, so two
-- instances that both believe they hold a station never both send to it.
ALTER TABLE station_state ADD COLUMN connected_instance text;
-- claimDue joins outbox targets to their owner on every pass.
CREATE INDEX station_state_connected_instance ON station_state (connected_instance) WHERE connected_instance IS NOT NULL;
