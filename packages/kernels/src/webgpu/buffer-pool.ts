/**
 * Temporaries (partial sums, histograms, staging, scratch) reused across calls, keyed by usage
 * and power-of-two size, so that a steady stream of kernel calls allocates nothing.
 */

/** Size and count of the pooled temporaries of one device, for leak tests. */
export interface BufferPoolStats {
  readonly buffers: number;
  readonly bytes: number;
  readonly inUse: number;
}

const POOL_MIN_BYTES = 256;

/**
 * A buffer released after its commands were submitted may be handed out again at once: later
 * submissions run after.
 */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly busy = new Set<GPUBuffer>();
  private count = 0;
  private bytes = 0;

  constructor(private readonly device: GPUDevice) {}

  acquire(bytes: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    let size = POOL_MIN_BYTES;
    while (size < bytes) size *= 2;
    const key = `${size}:${usage}`;
    let buffer = this.free.get(key)?.pop();
    if (buffer === undefined) {
      buffer = this.device.createBuffer({ label: `tabswarm.pool.${label}`, size, usage });
      this.count++;
      this.bytes += size;
    }
    this.busy.add(buffer);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.busy.delete(buffer)) throw new Error('buffer is not an acquired pool buffer');
    const key = `${buffer.size}:${buffer.usage}`;
    const list = this.free.get(key);
    if (list === undefined) this.free.set(key, [buffer]);
    else list.push(buffer);
  }

  stats(): BufferPoolStats {
    return { buffers: this.count, bytes: this.bytes, inUse: this.busy.size };
  }
}
