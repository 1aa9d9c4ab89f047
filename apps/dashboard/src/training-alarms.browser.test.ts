// The job page's training-health banner in a real browser: each alarm with its title, what the
// coordinator saw and what to try; nothing at all for a healthy job.
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, describe, expect, it } from 'vitest';
import { trainingAlarmsSchema, type TrainingAlarm } from '@tabswarm/protocol';
import { TrainingAlarms } from './TrainingAlarms.tsx';

let root: Root | null = null;
let host: HTMLElement | null = null;

afterEach(() => {
  root?.unmount();
  host?.remove();
  root = null;
  host = null;
});

function render(alarms: readonly TrainingAlarm[]): HTMLElement {
  host = document.createElement('div');
  document.body.append(host);
  const r = createRoot(host);
  root = r;
  flushSync(() => r.render(createElement(TrainingAlarms, { alarms })));
  return host;
}

// As the coordinator sends them (validated the way the dashboard validates job info).
const alarms = trainingAlarmsSchema.parse([
  {
    kind: 'checkpoint-unchanged',
    since: Date.UTC(2026, 11, 5, 18, 30),
    seq: 13,
    observed: 'checkpoints 9–13 are bit-identical to checkpoint 8 (parameter norm 31.2500, test loss 6.2210)',
    advice: 'Training is not moving the model. Standardise the input features.',
  },
  {
    kind: 'majority-class',
    since: Date.UTC(2026, 11, 5, 18, 31),
    seq: 13,
    observed: 'test accuracy 61.4 % at checkpoint 13 is what always answering the most common class scores',
    advice: 'Standardise the input features, try a different learning rate, or a larger model.',
  },
]);

describe('training-health banner', () => {
  it('lists every active alarm with what it saw and what to try', () => {
    const el = render(alarms);
    const banner = el.querySelector<HTMLElement>('[data-testid="training-alarms"]');
    expect(banner?.getAttribute('role')).toBe('alert');
    expect(banner?.querySelector('h2')?.textContent).toBe('Training health: 2 warnings');
    const unchanged = el.querySelector<HTMLElement>('[data-testid="alarm-checkpoint-unchanged"]');
    expect(unchanged?.textContent).toContain('checkpoints unchanged');
    expect(unchanged?.textContent).toContain('bit-identical to checkpoint 8');
    expect(unchanged?.textContent).toContain('Try: Training is not moving the model.');
    expect(el.querySelector('[data-testid="alarm-majority-class"]')?.textContent).toContain(
      'accuracy stuck at the majority class',
    );
  });

  it('shows nothing for a healthy job', () => {
    const el = render([]);
    expect(el.querySelector('[data-testid="training-alarms"]')).toBeNull();
    expect(el.textContent).toBe('');
  });
});
