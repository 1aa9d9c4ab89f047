/**
 * Test fixture for GPU tests: buffers it creates are destroyed afterwards, and the work runs in
 * validation and out-of-memory error scopes, so any WebGPU error fails the test.
 */

export interface GpuFixture {
  readonly device: GPUDevice;
  /** A STORAGE | COPY_SRC | COPY_DST buffer holding `data`. */
  upload(data: Float32Array): GPUBuffer;
  buffer(bytes: number, usage?: GPUBufferUsageFlags): GPUBuffer;
  read(buffer: GPUBuffer, length: number): Promise<Float32Array>;
}

export async function withGpu<T>(device: GPUDevice, run: (gpu: GpuFixture) => Promise<T> | T): Promise<T> {
  const created: GPUBuffer[] = [];
  const buffer = (
    bytes: number,
    usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  ) => {
    // WebGPU rejects zero-size bindings; a 0-element vector still gets a 4-byte buffer.
    const b = device.createBuffer({ label: 'test', size: Math.max(4, Math.ceil(bytes / 4) * 4), usage });
    created.push(b);
    return b;
  };
  const gpu: GpuFixture = {
    device,
    buffer,
    upload(data) {
      const b = buffer(data.byteLength);
      device.queue.writeBuffer(b, 0, data);
      return b;
    },
    async read(source, length) {
      const staging = device.createBuffer({
        label: 'test.read',
        size: Math.max(4, length * 4),
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      try {
        const encoder = device.createCommandEncoder();
        encoder.copyBufferToBuffer(source, 0, staging, 0, length * 4);
        device.queue.submit([encoder.finish()]);
        await staging.mapAsync(GPUMapMode.READ);
        return new Float32Array(staging.getMappedRange().slice(0, length * 4));
      } finally {
        staging.destroy();
      }
    },
  };

  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  let result: T;
  try {
    result = await run(gpu);
  } finally {
    // Wait for the queue first: errors of submitted work are reported to the scopes in force.
    await device.queue.onSubmittedWorkDone();
    const outOfMemory = await device.popErrorScope();
    const validation = await device.popErrorScope();
    for (const b of created) b.destroy();
    const error = validation ?? outOfMemory;
    // eslint-disable-next-line no-unsafe-finally -- a GPU error must fail the test even when run threw
    if (error !== null) throw new Error(`WebGPU ${error.constructor.name}: ${error.message}`);
  }
  return result;
}
