-- Checkpoint metadata; the parameters themselves are frame files under <dataDir>/checkpoints/.
-- A row is written only after its file is durable, so every row names a file that was complete.
-- No foreign key to jobs: this migration stays independent of the jobs table's.
CREATE TABLE checkpoints (
  job_id            TEXT NOT NULL,
  seq               INTEGER NOT NULL CHECK (seq >= 0),
  round             INTEGER NOT NULL CHECK (round >= 0),
  shards_done       INTEGER NOT NULL CHECK (shards_done >= 0),
  created_at        INTEGER NOT NULL,
  -- Relative to the data directory.
  file              TEXT NOT NULL,
  bytes             INTEGER NOT NULL CHECK (bytes > 0),
  -- CRC-32 from the frame header; a reader compares it with the file it finds.
  checksum          INTEGER NOT NULL CHECK (checksum >= 0 AND checksum <= 4294967295),
  element_count     INTEGER NOT NULL CHECK (element_count >= 0),
  -- JSON: { accepted: [{ nodeId, norm, weight }], rejected: [{ nodeId, reason, message }] }.
  contributors      TEXT NOT NULL,
  norm              REAL NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('written', 'evaluated', 'eval_failed')),
  accuracy          REAL,
  loss              REAL,
  eval_duration_ms  REAL,
  evaluated_at      INTEGER,
  eval_error        TEXT,
  PRIMARY KEY (job_id, seq)
) STRICT;
