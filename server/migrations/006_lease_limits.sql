-- The deadline a lease was granted with: heartbeats extend a lease to at most a multiple of its
-- window at grant (core's leaseLifetimeEnd). NULL for leases granted before this column existed;
-- those are bounded by the fixed maximum lifetime, as before.
ALTER TABLE leases ADD COLUMN granted_deadline INTEGER;
