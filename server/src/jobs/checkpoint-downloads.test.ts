/**
 * Checkpoint downloads (/parameters, /checkpoints/:seq, weights.bin) stream the file: it is read
 * whole at most once, to verify it, however many requests arrive together, and a file that stops
 * verifying is no longer served.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JobInfo } from '@tabswarm/protocol';
import { api, closedAfterEach, startServer, type RunningServer } from '../test-support.ts';

const track = closedAfterEach<RunningServer>();
afterEach(() => vi.restoreAllMocks());

/** Counts whole-file reads of checkpoint files, through fs.promises and through file handles. */
async function countWholeReads(dataDir: string): Promise<() => number> {
  const probe = await fsp.open(path.join(dataDir, 'probe'), 'w');
  const handleProto = Object.getPrototypeOf(probe) as { readFile: (...args: unknown[]) => Promise<Buffer> };
  await probe.close();
  let reads = 0;
  const original = fsp.readFile.bind(fsp);
  vi.spyOn(fsp, 'readFile').mockImplementation((file, options) => {
    if (typeof file === 'string' && file.includes(`${path.sep}checkpoints${path.sep}`)) reads += 1;
    return original(file, options);
  });
  const handleRead = handleProto.readFile;
  vi.spyOn(handleProto, 'readFile').mockImplementation(function (this: unknown, ...args: unknown[]) {
    reads += 1;
    return handleRead.apply(this, args);
  });
  return () => reads;
}

describe('checkpoint downloads', () => {
  it('stream the verified file: concurrent requests do not each read it whole', async () => {
    const running = track(await startServer());
    const created = await api<{ job: JobInfo }>(`${running.url}/api/jobs`, { body: { name: 'dl' } });
    expect(created.status).toBe(201);
    const job = created.body.job;
    await running.server.checkpoints().idle();
    const file = path.join(running.server.config.dataDir, 'checkpoints', job.id, '0.tswf');
    const onDisk = new Uint8Array(fs.readFileSync(file));
    const params = job.parameterCount ?? 0;
    const payload = onDisk.subarray(onDisk.length - params * 4);

    const reads = await countWholeReads(running.server.config.dataDir);
    const base = `${running.url}/api/jobs/${job.id}`;
    const get = async (p: string) => {
      const res = await fetch(`${base}${p}`);
      return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
    };
    const answers = await Promise.all([
      ...Array.from({ length: 8 }, () => get('/parameters')),
      ...Array.from({ length: 4 }, () => get('/checkpoints/0')),
      ...Array.from({ length: 4 }, () => get('/checkpoints/0/weights.bin')),
    ]);
    for (const [i, { res, bytes }] of answers.entries()) {
      expect(res.status, String(i)).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      if (i < 8) expect(res.headers.get('x-checkpoint-seq')).toBe('0');
      // Buffer.equals: toEqual walks 400 KB element by element, for seconds.
      expect(Buffer.from(bytes).equals(i < 12 ? onDisk : payload), String(i)).toBe(true);
      expect(res.headers.get('content-length')).toBe(String(bytes.length));
    }
    // Once, to verify the file; every later request streams the file it verified.
    expect(reads()).toBeLessThanOrEqual(1);
    await get('/parameters');
    expect(reads()).toBeLessThanOrEqual(1);

    // Corrupt in place: the file changes identity, is verified again, fails, and is not served.
    const handle = await fsp.open(file, 'r+');
    await handle.write(new Uint8Array([onDisk[100] === 0 ? 1 : 0]), 0, 1, 100);
    await handle.close();
    expect((await get('/checkpoints/0')).res.status).toBe(404);
    expect((await get('/checkpoints/0/weights.bin')).res.status).toBe(404);
    expect((await get('/parameters')).res.status).toBe(404);
  });
});
