-- Jobs, the shards of each epoch, and the leases that hand shards to volunteers.
-- A shard row exists for every (job, epoch, shard) once its epoch has been opened; its state is
-- derived from its leases and changes only inside the transactions of the scheduler.
CREATE TABLE jobs (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  spec          TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'paused', 'completed', 'failed', 'cancelled')),
  status_reason TEXT,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  started_at    INTEGER,
  finished_at   INTEGER,
  train_size    INTEGER NOT NULL,
  shard_size    INTEGER NOT NULL,
  shard_count   INTEGER NOT NULL,
  epochs_opened INTEGER NOT NULL DEFAULT 0,
  shards_done   INTEGER NOT NULL DEFAULT 0,
  samples_done  INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE shards (
  job_id    TEXT NOT NULL,
  epoch     INTEGER NOT NULL,
  shard     INTEGER NOT NULL,
  position  INTEGER NOT NULL,
  state     TEXT NOT NULL CHECK (state IN ('pending', 'leased', 'done')),
  done_by   TEXT,
  done_at   INTEGER,
  reissues  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (job_id, epoch, shard)
) STRICT;
CREATE INDEX shards_by_state ON shards (job_id, state, epoch, position);

CREATE TABLE leases (
  id           TEXT PRIMARY KEY,
  job_id       TEXT NOT NULL,
  epoch        INTEGER NOT NULL,
  shard        INTEGER NOT NULL,
  node_id      TEXT NOT NULL,
  issued_at    INTEGER NOT NULL,
  deadline     INTEGER NOT NULL,
  speculative  INTEGER NOT NULL DEFAULT 0,
  state        TEXT NOT NULL CHECK (state IN ('active', 'completed', 'expired', 'released', 'cancelled')),
  counted      INTEGER NOT NULL DEFAULT 0,
  completed_at INTEGER,
  loss         REAL,
  samples      INTEGER,
  duration_ms  INTEGER
) STRICT;
CREATE INDEX leases_active ON leases (state, deadline);
CREATE INDEX leases_by_shard ON leases (job_id, epoch, shard);
CREATE INDEX leases_by_node ON leases (node_id, state);
