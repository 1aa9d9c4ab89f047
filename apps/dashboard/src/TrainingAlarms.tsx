/**
 * The job page's training-health banner: each active alarm the coordinator raised, with what it
 * saw and what to try. Nothing is shown while the job is healthy.
 */
import { TRAINING_ALARM_TITLES, type TrainingAlarm } from '@tabswarm/protocol';
import { formatClock } from './format.ts';

type Props = {
  readonly alarms: readonly TrainingAlarm[];
};

export function TrainingAlarms({ alarms }: Props) {
  if (alarms.length === 0) return null;
  return (
    <section
      className="card alarms"
      role="alert"
      aria-labelledby="alarms-heading"
      data-testid="training-alarms"
    >
      <h2 id="alarms-heading">
        {alarms.length === 1 ? 'Training health: 1 warning' : `Training health: ${alarms.length} warnings`}
      </h2>
      <ul>
        {alarms.map((alarm) => (
          <li key={alarm.kind} data-testid={`alarm-${alarm.kind}`}>
            <strong>{TRAINING_ALARM_TITLES[alarm.kind]}</strong>{' '}
            <span className="alarm-since">since {formatClock(alarm.since)}</span>
            <p>{alarm.observed}.</p>
            <p className="alarm-advice">
              <em>Try:</em> {alarm.advice}
            </p>
          </li>
        ))}
      </ul>
    </section>
  );
}
