/** A job's pause, resume and cancel buttons (cancel asks first), enabled by the job's status and the operator token. */
import { useState } from 'react';
import type { JobInfo } from '@tabswarm/protocol';
import type { JobAction } from './api.ts';
import { actionAllowed } from './job-progress.ts';
import { reportWriteError, useServices } from './services.ts';
import { withJobs } from './store.ts';
import { READ_ONLY_HINT_ID } from './ReadOnlyHint.tsx';

type Props = {
  readonly job: JobInfo;
  readonly canWrite: boolean;
};

export function JobControls({ job, canWrite }: Props) {
  const { api, store, tokens } = useServices();
  const [busy, setBusy] = useState<JobAction | null>(null);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = async (action: JobAction): Promise<void> => {
    setBusy(action);
    setError(null);
    setConfirmCancel(false);
    try {
      const updated = await api.control(job.id, action, tokens.get().token);
      store.update((s) => withJobs(s, [updated], Date.now()));
    } catch (e) {
      setError(reportWriteError(tokens, e));
    } finally {
      setBusy(null);
    }
  };

  const button = (action: JobAction, label: string, primary = false) => (
    <button
      type="button"
      className={`button${primary ? ' primary' : ''}`}
      data-testid={`job-${action}`}
      disabled={!canWrite || busy !== null || !actionAllowed(job.status, action)}
      aria-describedby={canWrite ? undefined : READ_ONLY_HINT_ID}
      onClick={() => (action === 'cancel' ? setConfirmCancel(true) : void run(action))}
    >
      {busy === action ? `${label}…` : label}
    </button>
  );

  return (
    <div className="controls" role="group" aria-label="Job controls">
      {button('pause', 'Pause')}
      {button('resume', 'Resume', true)}
      {button('cancel', 'Cancel job')}
      {confirmCancel && (
        <span className="confirm" role="alertdialog" aria-label="Confirm cancelling">
          Cancel this job for good?{' '}
          <button
            type="button"
            className="button danger small"
            data-testid="job-cancel-confirm"
            onClick={() => void run('cancel')}
          >
            Yes, cancel it
          </button>{' '}
          <button type="button" className="button small" onClick={() => setConfirmCancel(false)} autoFocus>
            Keep it
          </button>
        </span>
      )}
      {!canWrite && <span className="detail">Controls need the operator token.</span>}
      {error !== null && (
        <p className="error" role="alert" data-testid="job-control-error">
          {error}
        </p>
      )}
    </div>
  );
}
