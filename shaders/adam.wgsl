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
// Bindings (group 0)
//   @binding(0)  params  uniform                Params (bound with a dynamic offset)
//   @binding(1)  param   storage, read_write    array<vec4<f32>>  p, updated in place
//   @binding(2)  m       storage, read_write    array<vec4<f32>>  first moment, in place
//   @binding(3)  v       storage, read_write    array<vec4<f32>>  second moment, in place
//   @binding(4)  grad    storage, read          array<vec4<f32>>  g
// Overrides
//   WORKGROUP_SIZE: u32 = 256                   1-D workgroups of this many invocations
// Entry point
//   main: one invocation per quad of four elements, on a 2-D grid of workgroups (see mix.wgsl
//         for the index). The host runs a length's last 1..3 elements as one padded quad.
//
// Precision: every operation rounds to f32 as in tfjs, but WGSL allows 2.5 ULP for division and
// sqrt, and a driver may fuse a multiply and an add: callers compare with a relative tolerance.

struct Params {
  base: u32,               // first quad of this dispatch, relative to the bound chunk
  count: u32,              // quads this dispatch covers
  _pad0: u32,
  _pad1: u32,
  neg_lr: f32,             // -learningRate
  beta1: f32,
  beta2: f32,
  one_minus_beta1: f32,    // 1 - beta1 rounded once, as tfjs's scalar
  one_minus_beta2: f32,
  epsilon: f32,
  bias_correction1: f32,   // 1 - beta1^t, with beta1^t the f32 running product tfjs keeps
  bias_correction2: f32,
  lr_weight_decay: f32,    // lr * weightDecay; 0 for Adam
  _pad2: f32,
  _pad3: f32,
  _pad4: f32,
}

override WORKGROUP_SIZE: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> grad: array<vec4<f32>>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
) {
  let local = gid.y * (groups.x * WORKGROUP_SIZE) + gid.x;
  if (local >= params.count) {
    return;
  }
  let i = params.base + local;
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
