-- Per-phase current limits (issue #4, docs/optimizer.md "Phases and minimum power"): a node's limit in
-- amperes on each of its phases, at its phase-to-neutral voltage (voltage_v, 230 V when unset) and number
-- of phases (phases). For a single-phase EVSE (or node), the phase it is on, when known; unknown counts as
-- every phase (the conservative reading). Plain PostgreSQL; runs on PGlite.
ALTER TABLE topology_node ADD COLUMN import_limit_a double precision CHECK (import_limit_a >= 0);
ALTER TABLE topology_node ADD COLUMN export_limit_a double precision CHECK (export_limit_a >= 0);
ALTER TABLE topology_node ADD COLUMN phase text CHECK (phase IN ('L1', 'L2', 'L3'));
