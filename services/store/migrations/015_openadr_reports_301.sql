-- OpenADR 3: reports gridflex owes upstream VTNs as a VEN (services/openadr/ven-report-store.ts).
--
-- One row per report a reportDescriptor schedules (grid-adapters/openadr3/report-schedule.ts), written
-- when the VEN first sees the event and kept until the VTN has accepted the report, so a due report
-- survives a restart and a VTN outage (retried with back-off, never dropped silently). `spec` holds
-- what the report is built from (covered intervals, payload types, units, resources), so it can be
-- sent even when the VTN is unreachable at the time it falls due.
CREATE TABLE openadr_ven_report (
  vtn_url        text NOT NULL,
  ven_name       text NOT NULL,
  event_id       text NOT NULL,
  -- which report of the event: descriptor timing + covered intervals + due time (stable across polls)
  report_key     text NOT NULL,
  -- modificationDateTime of the event version the row was scheduled from
  event_version  text NOT NULL,
  due_at         timestamptz NOT NULL,
  spec           jsonb NOT NULL,
  attempts       integer NOT NULL DEFAULT 0,
  next_try_at    timestamptz,
  last_error     text,
  -- set once the VTN answered 2xx (report_id) or refused for good (failed_at, a 4xx that retrying cannot fix)
  sent_at        timestamptz,
  report_id      text,
  failed_at      timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (vtn_url, ven_name, event_id, report_key)
);
CREATE INDEX openadr_ven_report_due ON openadr_ven_report (vtn_url, ven_name, due_at) WHERE sent_at IS NULL AND failed_at IS NULL;

-- OpenADR 3.0.1 program fields that 3.1.0 has no place for (services/openadr/vtn-301.ts): kept as the
-- 3.0.1 client sent them and served back at /openadr/3.0.1; null for programs created in 3.1.0.
ALTER TABLE openadr_program ADD COLUMN body_301 jsonb;
