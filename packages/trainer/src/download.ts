/**
 * Reading a coordinator download (a model's parameters: tens of MB for the larger presets) with
 * progress, and bounded: never more than the largest model a job may have, whatever the server or
 * a man in the middle sends.
 */
import { MAX_MODEL_PARAMETERS } from '@tabswarm/protocol';
import { TrainerError } from './any/errors.ts';

export interface DownloadProgress {
  readonly loaded: number;
  /** From Content-Length; null when the server did not say. */
  readonly total: number | null;
}

/** A frame of the largest model a job may have, and room for its header. */
export const MAX_DOWNLOAD_BYTES = MAX_MODEL_PARAMETERS * 4 + 1024 * 1024;

export async function readBody(
  response: Response,
  what: string,
  onProgress?: (progress: DownloadProgress) => void,
): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  const total = Number.isSafeInteger(declared) && declared >= 0 ? declared : null;
  const tooLarge = (): TrainerError =>
    new TrainerError('HTTP_FAILED', `${what}: more than ${MAX_DOWNLOAD_BYTES} bytes`);
  if (total !== null && total > MAX_DOWNLOAD_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  const reader = response.body?.getReader();
  if (reader === undefined) return new Uint8Array(await response.arrayBuffer());
  let buffer = new Uint8Array(total ?? 64 * 1024);
  let loaded = 0;
  onProgress?.({ loaded, total });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.byteLength > MAX_DOWNLOAD_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    if (loaded + value.byteLength > buffer.byteLength) {
      const grown = new Uint8Array(
        Math.min(MAX_DOWNLOAD_BYTES, Math.max(buffer.byteLength * 2, loaded + value.byteLength)),
      );
      grown.set(buffer.subarray(0, loaded));
      buffer = grown;
    }
    buffer.set(value, loaded);
    loaded += value.byteLength;
    onProgress?.({ loaded, total });
  }
  return buffer.byteLength === loaded ? buffer : buffer.slice(0, loaded);
}
