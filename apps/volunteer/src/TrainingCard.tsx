/** Live training stats and the volunteer's controls: pause, duty cycle and pausing while hidden. */
import { Card, formatElapsed, Select } from '@tabswarm/ui';
import type { VolunteerSession } from './session.ts';
import type { VolunteerState } from './store.ts';

type Props = {
  readonly session: VolunteerSession;
  readonly state: VolunteerState;
};

const DUTY_OPTIONS = [
  { value: 0.25, label: '25 %' },
  { value: 0.5, label: '50 %' },
  { value: 1, label: '100 %' },
] as const;

const megabytes = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

const fixed = (value: number | null, digits: number): string =>
  value === null ? '—' : value.toFixed(digits);

export function TrainingCard({ session, state }: Props) {
  const t = state.trainer;
  const lease = t?.lease ?? null;
  return (
    <Card title="Training">
      <div className="controls">
        <button
          type="button"
          className="button"
          data-testid="pause-button"
          aria-pressed={state.pausedByUser}
          onClick={() => session.setPausedByUser(!state.pausedByUser)}
        >
          {state.pausedByUser ? 'Resume' : 'Pause'}
        </button>
        <label>
          GPU duty cycle{' '}
          <Select
            data-testid="duty-cycle"
            options={DUTY_OPTIONS}
            value={state.dutyCycle}
            onChange={(value) => session.setDutyCycle(value)}
          />
        </label>
        <label>
          <input
            type="checkbox"
            data-testid="pause-when-hidden"
            checked={state.pauseWhenHidden}
            onChange={(e) => session.setPauseWhenHidden(e.target.checked)}
          />{' '}
          Pause while this tab is hidden
        </label>
      </div>
      <dl className="facts">
        <dt>Trainer</dt>
        <dd>
          <span className={`badge phase-${t?.phase ?? 'off'}`} data-testid="trainer-phase">
            {t?.phase ?? 'off'}
          </span>
          {t?.lastError != null && <span className="detail">{t.lastError}</span>}
        </dd>
        <dt>Backend</dt>
        <dd>
          <span className="mono" data-testid="trainer-backend">
            {t?.backend?.backend ?? ''}
          </span>
          {t?.backend?.fallbackReason != null && (
            <span className="detail" data-testid="trainer-fallback">
              fell back: {t.backend.fallbackReason}
            </span>
          )}
        </dd>
        {t?.download != null && (
          <>
            <dt>Model download</dt>
            <dd data-testid="model-download">
              {megabytes(t.download.loaded)}
              {t.download.total !== null &&
                ` of ${megabytes(t.download.total)} (${((100 * t.download.loaded) / Math.max(1, t.download.total)).toFixed(0)} %)`}
            </dd>
          </>
        )}
        <dt>Shard</dt>
        <dd data-testid="lease-progress">
          {lease === null
            ? '—'
            : `shard ${lease.shard}, epoch ${lease.epoch + 1}: step ${lease.stepsDone} of ${lease.steps || '…'}`}
        </dd>
        <dt>Shards done</dt>
        <dd data-testid="shards-done">{t?.shardsDone ?? 0}</dd>
        <dt>Samples / s</dt>
        <dd>
          <span data-testid="samples-per-sec">{fixed(t?.samplesPerSec ?? null, 0)}</span>
          <span className="detail">step {fixed(t?.stepTimeMs ?? null, 0)} ms</span>
        </dd>
        <dt>Training loss</dt>
        <dd data-testid="last-loss">{fixed(t?.lastLoss ?? null, 4)}</dd>
        <dt>Time contributed</dt>
        <dd data-testid="time-contributed">{formatElapsed(t?.contributedMs ?? 0)}</dd>
        <dt>Memory</dt>
        <dd>
          <span>
            <span data-testid="tensor-count">{t?.tensors ?? 0}</span> tensors
          </span>
          <span className="detail">{((t?.gpuBytes ?? 0) / 1048576).toFixed(1)} MiB on the GPU</span>
        </dd>
        <dt>Robustness</dt>
        <dd>
          <span>
            <span data-testid="restarts">{t?.restarts ?? 0}</span>{' '}
            {t?.restarts === 1 ? 'restart' : 'restarts'},{' '}
            <span data-testid="released-leases">{t?.releasedLeases ?? 0}</span>{' '}
            {t?.releasedLeases === 1 ? 'shard' : 'shards'} given back, {t?.checkpointsUploaded ?? 0}{' '}
            checkpoint {t?.checkpointsUploaded === 1 ? 'upload' : 'uploads'}
          </span>
        </dd>
      </dl>
      {state.trainerLog.length > 0 && (
        <ul className="log" data-testid="trainer-log">
          {state.trainerLog
            .slice(-8)
            .reverse()
            .map((line, i) => (
              <li key={`${line.at}-${i}`} className={`log-${line.level}`}>
                <span className="mono detail">{new Date(line.at).toLocaleTimeString()}</span> {line.text}
              </li>
            ))}
        </ul>
      )}
    </Card>
  );
}
