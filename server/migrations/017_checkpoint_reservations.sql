-- Sequence numbers of checkpoint rounds in flight. Coordinators sharing one database each take the
-- next free number (past the latest checkpoint's and every reservation's), so two rounds never
-- write the same checkpoint; a round's reservation is removed when it is recorded or fails.
CREATE TABLE checkpoint_reservations (
  job_id       TEXT NOT NULL,
  seq          INTEGER NOT NULL CHECK (seq >= 0),
  reserved_at  INTEGER NOT NULL,
  PRIMARY KEY (job_id, seq)
) STRICT;
