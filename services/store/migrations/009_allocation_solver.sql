-- The optimizer's own account of a run: which method solved each area, plan objective, proven bound and gap.
ALTER TABLE allocation_run ADD COLUMN solver jsonb;
