/** The checks every buffer-level kernel makes on its arguments before recording anything. */

/** Where a reduction writes its one 32-bit result: `offset` bytes into `buffer` (STORAGE). */
export interface ResultTarget {
  readonly buffer: GPUBuffer;
  /** Byte offset, a multiple of minStorageBufferOffsetAlignment (256); default 0. */
  readonly offset?: number;
}

export function checkLength(length: number, what: string): void {
  if (!Number.isSafeInteger(length) || length < 0 || length >= 2 ** 32) {
    throw new RangeError(`${what} length must be an integer in 0..2^32-1, got ${length}`);
  }
}

/** Throws unless `buffer` has `bytes` bytes and the usage bits in `usage`. */
export function checkBuffer(
  buffer: GPUBuffer,
  bytes: number,
  usage: GPUBufferUsageFlags,
  what: string,
): void {
  if (buffer.size < bytes) throw new RangeError(`${what} has ${buffer.size} bytes, needs ${bytes}`);
  if ((buffer.usage & usage) !== usage) throw new TypeError(`${what} needs usage ${usageName(usage)}`);
}

/** Throws if two of the named buffers are the same (null ones are absent). */
export function checkDistinct(buffers: Readonly<Record<string, GPUBuffer | null>>): void {
  const seen = new Map<GPUBuffer, string>();
  for (const [name, buffer] of Object.entries(buffers)) {
    if (buffer === null) continue;
    const other = seen.get(buffer);
    if (other !== undefined) throw new RangeError(`${other} and ${name} must be different buffers`);
    seen.set(buffer, name);
  }
}

/** Checks `target` and returns its byte offset. */
export function checkResultTarget(device: GPUDevice, target: ResultTarget, what: string): number {
  const offset = target.offset ?? 0;
  const align = device.limits.minStorageBufferOffsetAlignment;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % align !== 0) {
    throw new RangeError(`${what} offset must be a multiple of ${align}, got ${offset}`);
  }
  checkBuffer(target.buffer, offset + 4, GPUBufferUsage.STORAGE, what);
  return offset;
}

function usageName(usage: GPUBufferUsageFlags): string {
  const names: [number, string][] = [
    [GPUBufferUsage.STORAGE, 'STORAGE'],
    [GPUBufferUsage.COPY_SRC, 'COPY_SRC'],
    [GPUBufferUsage.COPY_DST, 'COPY_DST'],
  ];
  return names
    .filter(([bit]) => (usage & bit) !== 0)
    .map(([, name]) => name)
    .join(' | ');
}
