-- Validated work (issue 16 part 2): replicated shards, their results, and each volunteer's trust
-- and credit. A replicated lease starts from a named checkpoint (replica_checkpoint); NULL for
-- every other lease, so jobs without `validation` are unchanged.
ALTER TABLE leases ADD COLUMN replica_checkpoint INTEGER;

CREATE TABLE replicated_shards (
  job_id      TEXT NOT NULL,
  epoch       INTEGER NOT NULL,
  shard       INTEGER NOT NULL,
  -- Every replica trains from this checkpoint with a fresh optimizer and projects with this seed.
  checkpoint  INTEGER NOT NULL CHECK (checkpoint >= 0),
  seed        INTEGER NOT NULL,
  -- Replicas wanted: 2, then 3 when the first two disagree (the tie-breaker).
  wanted      INTEGER NOT NULL CHECK (wanted BETWEEN 2 AND 3),
  state       TEXT NOT NULL CHECK (state IN ('open', 'valid', 'inconclusive')),
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (job_id, epoch, shard)
) STRICT;
CREATE INDEX replicated_shards_open ON replicated_shards (job_id, state, created_at);

CREATE TABLE replica_results (
  lease_id    TEXT PRIMARY KEY,
  job_id      TEXT NOT NULL,
  epoch       INTEGER NOT NULL,
  shard       INTEGER NOT NULL,
  node_id     TEXT NOT NULL,
  loss        REAL NOT NULL,
  -- JSON { norm, projections } as reported; NULL when the completion carried none.
  statistics  TEXT,
  samples     INTEGER NOT NULL,
  verdict     TEXT NOT NULL CHECK (verdict IN ('pending', 'valid', 'invalid', 'inconclusive')),
  reported_at INTEGER NOT NULL
) STRICT;
CREATE INDEX replica_results_by_shard ON replica_results (job_id, epoch, shard);

CREATE TABLE volunteer_trust (
  node_id      TEXT PRIMARY KEY,
  trust        REAL NOT NULL,
  valid        INTEGER NOT NULL DEFAULT 0,
  invalid      INTEGER NOT NULL DEFAULT 0,
  inconclusive INTEGER NOT NULL DEFAULT 0,
  -- Samples of its work that replicas validated.
  credit       INTEGER NOT NULL DEFAULT 0,
  updated_at   INTEGER NOT NULL
) STRICT;
