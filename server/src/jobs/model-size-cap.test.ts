/**
 * A job's model has at most MAX_MODEL_PARAMETERS parameters: a preset on a very wide CSV is refused
 * at creation, before any model is built, with the field and the numbers.
 */
import { describe, expect, it } from 'vitest';
import { MAX_MODEL_PARAMETERS, type JobInfo } from '@tabswarm/protocol';
import { OPERATOR_TOKEN, api, closedAfterEach, startServer, type RunningServer } from '../test-support.ts';

const track = closedAfterEach<RunningServer>();

/** A CSV of `features` numeric columns and a label, `rows` rows of zeros, two classes. */
function wideCsv(features: number, rows: number): string {
  const header = `${Array.from({ length: features }, (_, i) => `f${i}`).join(',')},label\n`;
  const zeros = '0,'.repeat(features);
  let body = header;
  for (let r = 0; r < rows; r++) body += `${zeros}${r % 2}\n`;
  return body;
}

describe('model size cap', () => {
  it('refuses a preset whose parameter count is over the cap, naming the field', async () => {
    const running = track(await startServer());
    // mnist-mlp: features × 128 + 128 + 128 × 2 + 2 parameters; 390,700 features is just over 50 M.
    const features = 390_700;
    const expected = features * 128 + 128 + 128 * 2 + 2;
    expect(expected).toBeGreaterThan(MAX_MODEL_PARAMETERS);
    const uploaded = await fetch(`${running.url}/api/datasets?label=label&name=wide`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'text/csv' },
      body: wideCsv(features, 8),
    });
    expect(uploaded.status).toBe(201);
    const dataset = ((await uploaded.json()) as { dataset: { id: string } }).dataset.id;

    const started = Date.now();
    const res = await api<{ ok: boolean; code: string; message: string }>(`${running.url}/api/jobs`, {
      body: { name: 'too wide', dataset, model: { kind: 'preset', preset: 'mnist-mlp' } },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(res.body.message).toMatch(/^model\.preset: /);
    expect(res.body.message).toContain(expected.toLocaleString('en-US'));
    expect(res.body.message).toContain(MAX_MODEL_PARAMETERS.toLocaleString('en-US'));
    // Refused by arithmetic, not after building a 200 MB model.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(running.server.jobs.list()).toHaveLength(0);

    // The CNN preset on the same data is refused for its own reason (it needs images), not the cap.
    const cnn = await api<{ message: string }>(`${running.url}/api/jobs`, {
      body: { name: 'cnn', dataset, model: { kind: 'preset', preset: 'mnist-cnn' } },
    });
    expect(cnn.status).toBe(400);
    expect(cnn.body.message).toMatch(/image/);
    // A preset within the cap still works.
    const ok = await api<{ job: JobInfo }>(`${running.url}/api/jobs`, { body: { name: 'mnist' } });
    expect(ok.status).toBe(201);
  }, 60_000);
});
