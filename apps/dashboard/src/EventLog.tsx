/**
 * The coordinator's event log — joins, leaves, lease expiries and re-issues, rejected updates,
 * checkpoints, job changes, training alarms, errors — newest first, filterable by kind and job.
 */
import { EVENT_KINDS, type EventKind, type JobInfo, type LogEvent } from '@tabswarm/protocol';
import { DataTable } from '@tabswarm/ui';
import { countKinds, filterEvents, NO_JOB, type EventFilter } from './event-filter.ts';
import { formatClock } from './format.ts';
import { jobHref } from './routes.ts';

type Props = {
  readonly events: readonly LogEvent[];
  readonly jobs: ReadonlyMap<string, JobInfo>;
  readonly filter: EventFilter;
  /** Without it the filter is fixed and no controls are shown. */
  readonly onFilterChange?: (filter: EventFilter) => void;
  readonly limit?: number;
};

const KIND_LABELS: Record<EventKind, string> = {
  join: 'join',
  leave: 'leave',
  gone: 'gone',
  'lease-expired': 'lease expired',
  'lease-reissued': 'lease re-issued',
  'lease-speculative': 'speculative copy',
  'rejected-update': 'rejected update',
  checkpoint: 'checkpoint',
  job: 'job',
  alarm: 'training alarm',
  error: 'error',
  distrusted: 'distrusted',
};

const COLUMNS = [
  { label: 'Time' },
  { label: 'Kind' },
  { label: 'Job' },
  { label: 'Node' },
  { label: 'Message' },
] as const;

function FilterControls({
  events,
  jobs,
  filter,
  onChange,
}: {
  readonly events: readonly LogEvent[];
  readonly jobs: ReadonlyMap<string, JobInfo>;
  readonly filter: EventFilter;
  readonly onChange: (filter: EventFilter) => void;
}) {
  const counts = countKinds(events);
  const selected = new Set(filter.kinds);
  const toggle = (kind: EventKind): void => {
    const next = new Set(selected);
    if (next.has(kind)) next.delete(kind);
    else next.add(kind);
    onChange({ ...filter, kinds: EVENT_KINDS.filter((k) => next.has(k)) });
  };
  return (
    <div className="event-filters">
      <fieldset>
        <legend>Kinds {filter.kinds.length === 0 && <span className="detail">(all shown)</span>}</legend>
        <div className="checks">
          {EVENT_KINDS.map((kind) => (
            <label key={kind} className="check">
              <input
                type="checkbox"
                checked={selected.has(kind)}
                onChange={() => toggle(kind)}
                data-testid={`event-kind-${kind}`}
              />{' '}
              {KIND_LABELS[kind]} <span className="detail">({counts.get(kind) ?? 0})</span>
            </label>
          ))}
        </div>
        {filter.kinds.length > 0 && (
          <button type="button" className="button small" onClick={() => onChange({ ...filter, kinds: [] })}>
            Show all kinds
          </button>
        )}
      </fieldset>
      <div className="field inline">
        <label htmlFor="event-job">Job</label>
        <select
          id="event-job"
          data-testid="event-job"
          value={filter.jobId ?? ''}
          onChange={(e) => onChange({ ...filter, jobId: e.target.value === '' ? null : e.target.value })}
        >
          <option value="">all events</option>
          <option value={NO_JOB}>no job (volunteers joining and leaving)</option>
          {[...jobs.values()].map((job) => (
            <option key={job.id} value={job.id}>
              {job.name} ({job.id})
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}

export function EventLog({ events, jobs, filter, onFilterChange, limit = 500 }: Props) {
  const shown = filterEvents(events, filter, limit);
  return (
    <div className="event-log">
      {onFilterChange !== undefined && (
        <FilterControls events={events} jobs={jobs} filter={filter} onChange={onFilterChange} />
      )}
      {shown.length === 0 ? (
        <p className="empty" data-testid="events-empty">
          No events{filter.kinds.length > 0 || filter.jobId !== null ? ' match the filter' : ' yet'}.
        </p>
      ) : (
        <DataTable columns={COLUMNS} className="events" testId="event-table" height="tall">
          {shown.map((e) => (
            <tr key={e.seq} data-testid="event-row" data-kind={e.kind} className={`level-${e.level}`}>
              <td className="mono">{formatClock(e.at)}</td>
              <td>
                <span className={`badge kind kind-${e.kind} level-${e.level}`}>{KIND_LABELS[e.kind]}</span>
              </td>
              <td>
                {e.jobId === null ? (
                  ''
                ) : (
                  <a href={jobHref(e.jobId)} className={jobs.has(e.jobId) ? undefined : 'mono'}>
                    {jobs.get(e.jobId)?.name ?? e.jobId}
                  </a>
                )}
              </td>
              <td className="mono">{e.nodeId ?? ''}</td>
              <td>{e.message}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </div>
  );
}
