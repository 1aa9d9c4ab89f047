/** Shared by this package's tests: deterministic frames and a chunk-by-chunk feeder. */
import { mulberry32, randomVector as seededVector } from '@tabswarm/core';
import { encodeFp32Frame } from '@tabswarm/protocol';
import { decodeMessage, splitFrame, type ChunkMessage } from './chunk-codec.ts';

/** n values in [-1, 1), the same for the same seed. */
export function randomVector(n: number, seed = 1): Float32Array {
  return seededVector(mulberry32(seed), n);
}

export function testFrame(elements: number, seed = 1): Uint8Array {
  return encodeFp32Frame({
    jobId: 'job-1',
    senderId: 'sender1',
    round: 3,
    values: randomVector(elements, seed),
  });
}

/** Splits a frame and decodes every message, failing loudly if the codec rejects its own output. */
export function chunksOf(frame: Uint8Array, transferId: number, maxMessageBytes?: number): ChunkMessage[] {
  return [...splitFrame(frame, transferId, maxMessageBytes)].map((message) => {
    const decoded = decodeMessage(message);
    if (decoded.kind !== 'chunk') throw new Error(`codec rejected its own chunk: ${JSON.stringify(decoded)}`);
    return decoded;
  });
}

/** A seeded Fisher–Yates shuffle. */
export function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Index of the first difference, or -1; far faster than a deep toEqual on megabyte arrays. */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}
