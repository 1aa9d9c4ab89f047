/**
 * The copy kernel of the roofline (copy.wgsl) on a given device: one pipeline, then a function
 * that copies n floats (a multiple of 4) from one buffer to another.
 */
import copySource from './copy.wgsl?raw';

const WORKGROUP_SIZE = 256;
const MAX_GROUPS = 65_535;

export type CopyFn = (src: GPUBuffer, dst: GPUBuffer, n: number) => void;

export function createCopyKernel(device: GPUDevice): CopyFn {
  const module = device.createShaderModule({ label: 'bench-copy', code: copySource });
  const pipeline = device.createComputePipeline({
    label: 'bench-copy',
    layout: 'auto',
    compute: { module, entryPoint: 'main', constants: { WORKGROUP_SIZE } },
  });
  const params = device.createBuffer({
    label: 'bench-copy-params',
    size: 16,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  return (src, dst, n) => {
    if (n % 4 !== 0) throw new RangeError('the copy kernel moves whole vec4s: n must be a multiple of 4');
    const count4 = n / 4;
    const groups = Math.ceil(count4 / WORKGROUP_SIZE);
    const x = Math.min(MAX_GROUPS, groups);
    const y = Math.ceil(groups / x);
    device.queue.writeBuffer(params, 0, new Uint32Array([count4, x * WORKGROUP_SIZE, 0, 0]));
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: src } },
        { binding: 1, resource: { buffer: dst } },
        { binding: 2, resource: { buffer: params } },
      ],
    });
    const encoder = device.createCommandEncoder({ label: 'bench-copy' });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y);
    pass.end();
    device.queue.submit([encoder.finish()]);
  };
}
