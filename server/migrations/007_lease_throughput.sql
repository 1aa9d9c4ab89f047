-- A volunteer's most recent completions on a job: the scheduler sizes its next deadline from the
-- throughput it measured on them (samples over its own measured lease durations).
CREATE INDEX leases_by_node_job ON leases (node_id, job_id, completed_at);
