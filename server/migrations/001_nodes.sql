-- Volunteers the coordinator has seen. Capabilities and the self-test report are JSON that was
-- validated by the protocol schemas before it was written.
CREATE TABLE nodes (
  id            TEXT PRIMARY KEY,
  secret_hash   TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('active', 'gone')),
  state         TEXT NOT NULL,
  capabilities  TEXT NOT NULL,
  self_test     TEXT,
  joined_at     INTEGER NOT NULL,
  last_seen_at  INTEGER NOT NULL,
  connected     INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX nodes_status ON nodes (status);
