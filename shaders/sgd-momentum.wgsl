// sgd-momentum.wgsl: one step of SGD with momentum (optionally Nesterov) on flat f32 buffers,
// with tf.train.momentum's formulas and operation order (tfjs-core momentum_optimizer.ts):
//
//   a'     = momentum * a + g
//   p'     = -lr * a' + p                         (classic)
//   p'     = -lr * (g + a' * momentum) + p        (Nesterov)
//
// Plain SGD is momentum = 0 with a zeroed accumulator.
//
// Bindings (group 0; binding 0 is Params, see common.wgsl)
//   @binding(1)  param   storage, read_write    array<vec4<f32>>  p, updated in place
//   @binding(2)  accum   storage, read_write    array<vec4<f32>>  a (tfjs's "momentum" slot), in place
//   @binding(3)  grad    storage, read          array<vec4<f32>>  g
// Entry point
//   main: one invocation per quad of four elements, on a 2-D grid of workgroups (see common.wgsl
//         for the index). The host runs a length's last 1..3 elements as one padded quad.
//
// Precision: every operation rounds to f32 as in tfjs; a driver may fuse a multiply and an add.

@group(0) @binding(1) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> accum: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> grad: array<vec4<f32>>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(grid: GridInvocation) {
  let i = item_index(grid, params.base, params.count);
  if (i == NO_ITEM) { return; }
  let g = grad[i];
  let a = params.momentum * accum[i] + g;
  accum[i] = a;
  var step = a;
  if (params.nesterov != 0u) {
    step = g + a * params.momentum;
  }
  param[i] = params.neg_lr * step + param[i];
}
