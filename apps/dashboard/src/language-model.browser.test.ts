// The job page's language-model card in a real browser: the bits-per-character chart against the
// unigram baseline, and a sample generated from the latest checkpoint's model.json + weights.bin
// (served here from memory through fetch) by the CPU-side temperature sampling.
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { characterVocabulary, jobInfoSchema, type CheckpointSummary } from '@tabswarm/protocol';
import { LanguageModelCard } from './LanguageModelCard.tsx';
import { charTextInfo, exportedGptNano } from './test-support.ts';

const CORPUS = 'Call me Ishmael. Some years ago, never mind how long precisely, I went to sea.';
const vocabulary = characterVocabulary(CORPUS);
const text = charTextInfo(vocabulary, { heldOutUnigramBits: 4.2, trainChars: 70, heldOutChars: 10 });
const checkpoints: CheckpointSummary[] = [
  { seq: 0, createdAt: 1, shardsDone: 0, accuracy: 0.02, loss: 4.4, bitsPerChar: 6.35, perplexity: 81.6 },
  { seq: 1, createdAt: 2, shardsDone: 4, accuracy: 0.25, loss: 2.8, bitsPerChar: 4.04, perplexity: 16.4 },
  // Still being scored (off the coordinator's thread): no figures yet.
  { seq: 2, createdAt: 3, shardsDone: 8, accuracy: null, loss: null },
];

let root: Root | null = null;
let host: HTMLElement | null = null;
afterEach(() => {
  root?.unmount();
  host?.remove();
  vi.unstubAllGlobals();
});

describe('language-model card', () => {
  it('plots bits per character and shows a sample from the newest scored checkpoint', async () => {
    // A gpt-nano for the corpus, saved as the coordinator's export route would serve it.
    const files = await exportedGptNano(vocabulary, 3);
    const requested: string[] = [];
    vi.stubGlobal('fetch', (input: RequestInfo | URL) => {
      const url = input instanceof Request ? input.url : input.toString();
      requested.push(url);
      if (url.endsWith('/model.json')) return Promise.resolve(new Response(files.json));
      if (url.endsWith('/weights.bin')) return Promise.resolve(new Response(files.weights));
      return Promise.resolve(new Response('not found', { status: 404 }));
    });
    const job = jobInfoSchema.parse({
      id: 'job-0123456789ab',
      name: 'nano',
      spec: { name: 'nano', dataset: 'moby-dick', model: { kind: 'preset', preset: 'gpt-nano' } },
      status: 'running',
      statusReason: null,
      createdAt: 1,
      startedAt: 1,
      finishedAt: null,
      trainSize: 1000,
      shardSize: 80,
      shardCount: 13,
      totalShards: 13,
      epochsOpened: 1,
      shardsDone: 4,
      samplesDone: 320,
      activeLeases: 0,
      samplesPerSecond: 0,
      parameterCount: null,
      latestCheckpoint: checkpoints[2],
    });
    host = document.createElement('div');
    document.body.append(host);
    const r = createRoot(host);
    root = r;
    flushSync(() => r.render(createElement(LanguageModelCard, { job, checkpoints, text })));
    const el = host;
    expect(el.querySelector('[data-testid="chart-bits-per-char"]')?.textContent).toContain('4.200 bits');
    expect(el.textContent).toContain('Latest: 4.040 bits/char, perplexity 16.40.');
    await expect
      .poll(() => el.querySelector('[data-testid="text-sample"] pre')?.textContent ?? '', { timeout: 30_000 })
      .toMatch(/^Call me .{200}$/su);
    const sample = el.querySelector('[data-testid="text-sample"] pre')?.textContent ?? '';
    for (const c of Array.from(sample)) expect(vocabulary).toContain(c);
    expect(el.querySelector('[data-testid="text-sample"] figcaption')?.textContent).toBe(
      'Sample from checkpoint 1 (temperature 0.8)',
    );
    expect(requested.some((u) => u.endsWith('/api/jobs/job-0123456789ab/checkpoints/1/model.json'))).toBe(
      true,
    );
  });
});
