-- An OSCP group may be assigned to one capacity provider: then only that peer's forecasts for the
-- group are accepted (another registered DSO gets 403). Unassigned groups accept any registered peer.
ALTER TABLE oscp_group ADD COLUMN peer_id text REFERENCES oscp_peer(id) ON DELETE SET NULL;
