-- Priority class of a CPO node for SHARING_POLICY=priority (issue #4, docs/optimizer.md "Sharing"): a
-- higher class is served first when a grid area's capacity is scarce. NULL: no class given (the lowest).
-- Only CPO nodes carry one. The fcfs order needs no column: it is the order the CPO nodes were created in
-- (created_at, then id).
ALTER TABLE topology_node ADD COLUMN sharing_class integer CHECK (sharing_class IS NULL OR kind = 'cpo');
