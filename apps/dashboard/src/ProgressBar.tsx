/** A labelled progress bar, determinate (0–1) or not, with its text beside it. */
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
