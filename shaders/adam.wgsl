// adam.wgsl: one step of Adam, or AdamW with decoupled weight decay, on flat f32 buffers, with
// tf.train.adam's formulas and operation order (tfjs-core adam_optimizer.ts):
//
//   m'   = m * beta1 + g * (1 - beta1)
//   v'   = v * beta2 + g² * (1 - beta2)
//   m̂    = m' / (1 - beta1^t)                      bias corrections computed by the host
//   v̂    = v' / (1 - beta2^t)
//   p    = p - (lr * wd) * p                        AdamW only (lr_weight_decay != 0)
//   p'   = (m̂ / (sqrt(v̂) + epsilon)) * -lr + p     epsilon outside the sqrt, as in tfjs
//
// Bindings (group 0; binding 0 is Params, see common.wgsl)
//   @binding(1)  param   storage, read_write    array<vec4<f32>>  p, updated in place
//   @binding(2)  m       storage, read_write    array<vec4<f32>>  first moment, in place
//   @binding(3)  v       storage, read_write    array<vec4<f32>>  second moment, in place
//   @binding(4)  grad    storage, read          array<vec4<f32>>  g
// Entry point
//   main: one invocation per quad of four elements, on a 2-D grid of workgroups (see common.wgsl
//         for the index). The host runs a length's last 1..3 elements as one padded quad.
//
// Precision: every operation rounds to f32 as in tfjs, but WGSL allows 2.5 ULP for division and
// sqrt, and a driver may fuse a multiply and an add: callers compare with a relative tolerance.

@group(0) @binding(1) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> grad: array<vec4<f32>>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(grid: GridInvocation) {
  let i = item_index(grid, params.base, params.count);
  if (i == NO_ITEM) { return; }
  let g = grad[i];
  let m1 = m[i] * params.beta1 + g * params.one_minus_beta1;
  let v1 = v[i] * params.beta2 + (g * g) * params.one_minus_beta2;
  m[i] = m1;
  v[i] = v1;
  let m_hat = m1 / params.bias_correction1;
  let v_hat = v1 / params.bias_correction2;
  var p = param[i];
  // A branch, not p - 0 * p: that would turn an infinite p into NaN for plain Adam.
  if (params.lr_weight_decay != 0.0) {
    p = p - params.lr_weight_decay * p;
  }
  param[i] = (m_hat / (sqrt(v_hat) + params.epsilon)) * params.neg_lr + p;
}
