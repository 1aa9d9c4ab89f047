import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeFp32Frame } from '@tabswarm/protocol';
import {
  checkpointDir,
  checkpointPath,
  cleanupAllTempFiles,
  cleanupTempFiles,
  listCheckpointFiles,
  readCheckpointFile,
  removeCheckpointFile,
  writeCheckpointFile,
} from './checkpoint-files.ts';
import { loadLatestCheckpoint } from './latest-checkpoint.ts';
import { createCheckpointRepository } from '../store/checkpoint-repository.ts';
import { openStore } from '../store/store.ts';
import { tempDir } from '../test-support.ts';

const FIXTURE = fileURLToPath(new URL('./crash-writer.fixture.ts', import.meta.url));
const values = (n: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => Math.sin(i) * scale);
const frameOf = (v: Float32Array, jobId = 'job-1', round = 4) =>
  encodeFp32Frame({ jobId, senderId: 'coordinator', round, values: v });

describe('checkpoint files', () => {
  it('writes atomically: the file at <dataDir>/checkpoints/<job>/<seq>.tswf, no temporary left', async () => {
    const dataDir = tempDir();
    const frame = frameOf(values(1000));
    const written = await writeCheckpointFile(dataDir, 'job-1', 3, frame);
    expect(written).toMatchObject({
      path: path.join(dataDir, 'checkpoints', 'job-1', '3.tswf'),
      relativePath: path.join('checkpoints', 'job-1', '3.tswf'),
      bytes: frame.length,
      elementCount: 1000,
    });
    expect(fs.readdirSync(checkpointDir(dataDir, 'job-1'))).toEqual(['3.tswf']);
    expect(new Uint8Array(fs.readFileSync(written.path))).toEqual(frame);

    const read = await readCheckpointFile(written.path, { jobId: 'job-1' });
    expect(read.ok).toBe(true);
    if (read.ok) {
      expect(read.values).toEqual(values(1000));
      expect(read.header).toMatchObject({ round: 4, checksum: written.checksum });
    }
  });

  it('replaces a file of the same seq whole', async () => {
    const dataDir = tempDir();
    await writeCheckpointFile(dataDir, 'job-1', 0, frameOf(values(10)));
    await writeCheckpointFile(dataDir, 'job-1', 0, frameOf(values(20, 2)));
    const read = await readCheckpointFile(checkpointPath(dataDir, 'job-1', 0));
    expect(read.ok && read.values).toEqual(values(20, 2));
    expect(await listCheckpointFiles(dataDir, 'job-1')).toEqual([0]);
  });

  it('refuses to write an invalid frame, or to a path outside the data directory', async () => {
    const dataDir = tempDir();
    const frame = frameOf(values(10));
    frame[frame.length - 1] = (frame.at(-1) ?? 0) ^ 0xff;
    await expect(writeCheckpointFile(dataDir, 'job-1', 0, frame)).rejects.toThrow(/checksum/);
    await expect(writeCheckpointFile(dataDir, '../etc', 0, frameOf(values(1)))).rejects.toThrow(RangeError);
    await expect(writeCheckpointFile(dataDir, 'job-1', -1, frameOf(values(1)))).rejects.toThrow(RangeError);
    expect(fs.existsSync(path.join(dataDir, 'checkpoints', 'job-1'))).toBe(false);
  });

  it('detects a torn, a corrupt, an empty, a missing and a foreign file without throwing', async () => {
    const dataDir = tempDir();
    const written = await writeCheckpointFile(dataDir, 'job-1', 0, frameOf(values(1000)));
    const bytes = fs.readFileSync(written.path);

    fs.writeFileSync(written.path, bytes.subarray(0, bytes.length - 100));
    expect(await readCheckpointFile(written.path)).toMatchObject({ ok: false, code: 'FRAME_TRUNCATED' });

    const flipped = Buffer.from(bytes);
    flipped[2000] = (flipped[2000] ?? 0) ^ 0x01;
    fs.writeFileSync(written.path, flipped);
    expect(await readCheckpointFile(written.path)).toMatchObject({ ok: false, code: 'FRAME_BAD_CHECKSUM' });

    fs.writeFileSync(written.path, new Uint8Array(0));
    expect(await readCheckpointFile(written.path)).toMatchObject({ ok: false, code: 'FRAME_TRUNCATED' });

    fs.writeFileSync(written.path, Buffer.alloc(bytes.length));
    expect(await readCheckpointFile(written.path)).toMatchObject({ ok: false, code: 'FRAME_BAD_MAGIC' });

    expect(await readCheckpointFile(path.join(dataDir, 'nope.tswf'))).toMatchObject({
      ok: false,
      code: 'CHECKPOINT_MISSING',
    });
    expect(await readCheckpointFile(dataDir)).toMatchObject({ ok: false, code: 'CHECKPOINT_UNREADABLE' });

    fs.writeFileSync(written.path, frameOf(values(5), 'job-2'));
    expect(await readCheckpointFile(written.path, { jobId: 'job-1' })).toMatchObject({
      ok: false,
      code: 'CHECKPOINT_UNREADABLE',
    });
  });

  it('cleans up temporary files a crash left, and only those', async () => {
    const dataDir = tempDir();
    await writeCheckpointFile(dataDir, 'job-1', 0, frameOf(values(10)));
    await writeCheckpointFile(dataDir, 'job-2', 0, frameOf(values(10)));
    const dir = checkpointDir(dataDir, 'job-1');
    fs.writeFileSync(path.join(dir, '.1.tswf.4242-0a1b2c3d4e5f.tmp'), 'half a frame');
    fs.writeFileSync(path.join(checkpointDir(dataDir, 'job-2'), '.7.tswf.1-ff.tmp'), '');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'keep me');

    expect(await cleanupTempFiles(dir)).toEqual(['.1.tswf.4242-0a1b2c3d4e5f.tmp']);
    expect(fs.readdirSync(dir).sort()).toEqual(['0.tswf', 'notes.txt']);
    expect(await cleanupAllTempFiles(dataDir)).toEqual([
      path.join('checkpoints', 'job-2', '.7.tswf.1-ff.tmp'),
    ]);
    expect(await cleanupTempFiles(path.join(dataDir, 'missing'))).toEqual([]);
    expect(await cleanupAllTempFiles(tempDir())).toEqual([]);
  });

  it('leaves only whole, verifying files when the writer is SIGKILLed mid-write, again and again', async () => {
    const dataDir = tempDir();
    const dir = checkpointDir(dataDir, 'crash');
    let next = 0;
    for (let run = 0; run < 4; run++) {
      const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dataDir, String(next)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = once(child, 'exit');
      // Once it has written a file, let it get into later writes for a varying while, then kill it.
      await Promise.race([
        once(child.stdout, 'data'),
        exited.then(() => Promise.reject(new Error('the writer exited by itself'))),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 5 + run * 13));
      child.kill('SIGKILL');
      await exited;

      // A kill inside a write leaves a temporary file (about one run in six here); never a torn .tswf.
      await cleanupTempFiles(dir);
      expect(fs.readdirSync(dir).every((name) => /^\d+\.tswf$/.test(name))).toBe(true);
      const seqs = await listCheckpointFiles(dataDir, 'crash');
      expect(seqs.length).toBeGreaterThan(0);
      for (const seq of seqs) {
        const read = await readCheckpointFile(checkpointPath(dataDir, 'crash', seq), { jobId: 'crash' });
        expect(read.ok && read.header.round === seq && read.values.every((v) => v === seq)).toBe(true);
      }
      next = (seqs.at(-1) ?? 0) + 1;
    }
  }, 60_000);

  it('lists and removes checkpoint files', async () => {
    const dataDir = tempDir();
    for (const seq of [10, 2, 0]) await writeCheckpointFile(dataDir, 'job-1', seq, frameOf(values(3)));
    expect(await listCheckpointFiles(dataDir, 'job-1')).toEqual([0, 2, 10]);
    await removeCheckpointFile(dataDir, 'job-1', 2);
    await removeCheckpointFile(dataDir, 'job-1', 99);
    expect(await listCheckpointFiles(dataDir, 'job-1')).toEqual([0, 10]);
    expect(await listCheckpointFiles(dataDir, 'job-9')).toEqual([]);
  });
});

describe('loadLatestCheckpoint', () => {
  it('returns the newest checkpoint whose file verifies and matches its row, listing what it skipped', async () => {
    const dataDir = tempDir();
    const store = openStore(dataDir);
    const repo = createCheckpointRepository(store.db);
    expect(await loadLatestCheckpoint(repo, dataDir, 'job-1')).toEqual({ latest: null, skipped: [] });

    for (const seq of [0, 1, 2, 3]) {
      const written = await writeCheckpointFile(dataDir, 'job-1', seq, frameOf(values(100, seq + 1)));
      repo.insert({
        jobId: 'job-1',
        seq,
        round: seq,
        shardsDone: seq * 10,
        createdAt: seq,
        file: written.relativePath,
        bytes: written.bytes,
        checksum: written.checksum,
        elementCount: written.elementCount,
        contributors: { accepted: [], rejected: [] },
        norm: 1,
      });
    }
    // 3 torn, 2 replaced by another valid frame its row does not describe, 1 good.
    const three = checkpointPath(dataDir, 'job-1', 3);
    fs.truncateSync(three, 50);
    await writeCheckpointFile(dataDir, 'job-1', 2, frameOf(values(100, 9)));

    const { latest, skipped } = await loadLatestCheckpoint(repo, dataDir, 'job-1');
    expect(latest?.record.seq).toBe(1);
    expect(latest?.values).toEqual(values(100, 2));
    expect(skipped.map((s) => [s.seq, s.code])).toEqual([
      [3, 'FRAME_TRUNCATED'],
      [2, 'CHECKPOINT_MISMATCH'],
    ]);

    fs.rmSync(checkpointPath(dataDir, 'job-1', 1));
    fs.rmSync(checkpointPath(dataDir, 'job-1', 0));
    const none = await loadLatestCheckpoint(repo, dataDir, 'job-1');
    expect(none.latest).toBeNull();
    expect(none.skipped.map((s) => s.code)).toContain('CHECKPOINT_MISSING');
    store.close();
  });
});
