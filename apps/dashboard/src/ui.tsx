/** Small shared pieces: progress bars and the read-only explanation. */
import type { ReactNode } from 'react';

type ProgressProps = {
  readonly label: string;
  /** 0–1, or null for an indeterminate bar. */
  readonly fraction: number | null;
  readonly text?: ReactNode;
  readonly testId?: string;
};

export function ProgressBar({ label, fraction, text, testId }: ProgressProps) {
  const percent = fraction === null ? null : Math.round(Math.min(1, Math.max(0, fraction)) * 1000) / 10;
  return (
    <div className="progress" data-testid={testId} data-percent={percent ?? undefined}>
      <div
        className={`progress-track${percent === null ? ' indeterminate' : ''}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent ?? undefined}
      >
        <div className="progress-fill" style={{ width: percent === null ? '100%' : `${percent}%` }} />
      </div>
      {text !== undefined && <span className="progress-text">{text}</span>}
    </div>
  );
}

export const READ_ONLY_HINT_ID = 'read-only-hint';

/** The reason write controls are disabled; controls point at it with aria-describedby. */
export function ReadOnlyHint({ canWrite }: { readonly canWrite: boolean }) {
  if (canWrite) return null;
  return (
    <p className="hint" id={READ_ONLY_HINT_ID} data-testid="read-only-hint" role="note">
      Read-only: enter the operator token (top right) to submit jobs, upload data and pause, resume or cancel.
    </p>
  );
}
