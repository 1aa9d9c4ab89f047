// mix.wgsl: weighted sum of up to 8 parameter vectors (consensus averaging).
//
//   out[i] = w0*x0[i] + w1*x1[i] + ... + w(K-1)*x(K-1)[i]      K in 1..8, summed left to right
//
// Bindings (group 0; binding 0 is Params, see common.wgsl)
//   @binding(1)  acc     storage, read_write    array<vec4<f32>>  holds x0 on entry and out on exit
//   @binding(2)  x1      storage, read          array<vec4<f32>>
//   ...
//   @binding(8)  x7      storage, read          array<vec4<f32>>  slots k >= K: any small dummy buffer
// Overrides
//   K: u32 = 8                                  number of inputs, 1..8 (equals params.k)
// Entry point
//   main: one invocation per quad of four elements, on a 2-D grid of workgroups. The host runs
//         a length's last 1..3 elements as one padded quad (see elementwise.ts).
//
// Why x0 shares the output binding: inside one dispatch WebGPU forbids using a buffer both as
// read-only storage and as writable storage, so "out aliased to x0" could not be bound as two
// bindings; and the default maxStorageBuffersPerShaderStage is 8, so out + 8 inputs would not
// fit anyway. The host copies x0 into out first when the caller did not ask for in-place.
//
// Why dispatches must keep to their quads [base, base + count) (see common.wgsl): acc is read,
// modified and written, so a second pass over an element would mix it twice.
// Why quads (vec4): one 128-bit load per invocation instead of four 32-bit ones; on a GPU
// emulated on the CPU (SwiftShader) that is several times faster, and GPUs like it too.
//
// Why K is an override and not only a uniform: the terms beyond K then fold away when the pipeline
// is created. With a uniform, a GPU emulated on the CPU (SwiftShader) runs every branch under a
// mask and reads all eight bindings whatever K is.
//
// Precision: each product and each sum is rounded to f32; a driver may fuse a multiply and add
// (fma), so callers compare with a tolerance relative to sum_k |w_k * x_k[i]|.

override K: u32 = 8;

@group(0) @binding(1) var<storage, read_write> acc: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> x2: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> x3: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> x5: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> x6: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> x7: array<vec4<f32>>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(grid: GridInvocation) {
  let i = item_index(grid, params.base, params.count);
  if (i == NO_ITEM) { return; }
  let wa = params.w[0];
  let wb = params.w[1];

  // Unrolled because bindings cannot be indexed; K is a constant, so the branches fold away.
  var s = wa.x * acc[i];
  if (K > 1u) { s = s + wa.y * x1[i]; }
  if (K > 2u) { s = s + wa.z * x2[i]; }
  if (K > 3u) { s = s + wa.w * x3[i]; }
  if (K > 4u) { s = s + wb.x * x4[i]; }
  if (K > 5u) { s = s + wb.y * x5[i]; }
  if (K > 6u) { s = s + wb.z * x6[i]; }
  if (K > 7u) { s = s + wb.w * x7[i]; }
  acc[i] = s;
}
