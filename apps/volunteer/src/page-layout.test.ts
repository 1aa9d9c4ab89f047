// What the volunteer page puts first and what it folds away: the job, status and training (with
// Pause) in view; the GPU limits and the frames received from peers behind a closed details toggle.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { INITIAL_STATUS } from '@tabswarm/trainer';
import { DebugDetails } from './DebugDetails.tsx';
import type { VolunteerSession } from './session.ts';
import { INITIAL_STATE, type VolunteerState } from './store.ts';
import { TrainingCard } from './TrainingCard.tsx';

const details = (state: Partial<VolunteerState>): string =>
  renderToStaticMarkup(createElement(DebugDetails, { state: { ...INITIAL_STATE, ...state } }));
// Rendering only: no button is pressed, so the session is never called.
const training = (state: Partial<VolunteerState>): string =>
  renderToStaticMarkup(
    createElement(TrainingCard, { session: {} as VolunteerSession, state: { ...INITIAL_STATE, ...state } }),
  );

const adapter: VolunteerState['adapter'] = {
  vendor: 'google',
  architecture: 'swiftshader',
  device: '',
  description: '',
  isFallbackAdapter: true,
  limits: { maxStorageBufferBindingSize: 134217728 },
};

describe('the volunteer page', () => {
  it('folds the GPU limits and the frames received behind a closed details toggle', () => {
    const html = details({
      adapter,
      receivedFrames: [{ from: 'vpeer', elementCount: 1000, checksum: 0xabcdef, ok: true }],
    });
    expect(html).toMatch(/^<details class="details" data-testid="details">/); // closed: no `open`
    expect(html).toMatch(/<\/details>$/);
    expect(html).toContain('GPU limits');
    expect(html).toContain('maxStorageBufferBindingSize');
    expect(html).toContain('data-testid="received-frame"');
  });

  it('shows Pause, or Resume once the volunteer paused', () => {
    expect(training({})).toMatch(/data-testid="pause-button"[^>]*>Pause</);
    expect(training({ pausedByUser: true })).toMatch(/aria-pressed="true"[^>]*>Resume</);
  });

  it('shows a model download with its progress while the parameters come', () => {
    const trainer = {
      ...INITIAL_STATUS,
      phase: 'loading' as const,
      download: { loaded: 5 * 2 ** 20, total: 10 * 2 ** 20 },
    };
    expect(training({ trainer })).toMatch(/data-testid="model-download">5\.0 MiB of 10\.0 MiB \(50 %\)/);
    expect(training({ trainer: { ...trainer, download: null } })).not.toContain('model-download');
  });

  it('counts restarts, shards given back and checkpoint uploads in words that agree', () => {
    const text = (counts: {
      restarts: number;
      releasedLeases: number;
      checkpointsUploaded: number;
    }): string => training({ trainer: { ...INITIAL_STATUS, ...counts } }).replace(/<[^>]+>/g, '');
    expect(text({ restarts: 1, releasedLeases: 1, checkpointsUploaded: 1 })).toContain(
      '1 restart, 1 shard given back, 1 checkpoint upload',
    );
    expect(text({ restarts: 2, releasedLeases: 0, checkpointsUploaded: 3 })).toContain(
      '2 restarts, 0 shards given back, 3 checkpoint uploads',
    );
  });
});
