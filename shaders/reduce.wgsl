// reduce.wgsl: reductions of whole vectors to one number, in two stages of the same entry point:
// STAGE 0 folds elements into one Partial per workgroup, STAGE 1 folds the partials into the
// result. OP picks the reduction:
//
//   OP 0  L2 norm        ‖a‖                  f32; NaN if any a[i] is NaN, else +Inf if any is ±Inf
//   OP 1  dot product    Σ a[i]·b[i]          f32, IEEE propagation of NaN and ±Inf
//   OP 2  non-finite     #{i : a[i] is NaN or ±Inf}    u32
//   OP 3  distance       ‖a − b‖ / ‖a‖        f32; NaN if any a[i] or b[i] is not finite;
//                                             0 when both norms are 0, +Inf when only ‖a‖ is
//
// Bindings (group 0; binding 0 is Params, see common.wgsl)
//   @binding(1)  a         storage, read         array<f32>  STAGE 0: the chunk of a
//   @binding(2)  b         storage, read         array<f32>  STAGE 0, OP 1 and 3: the chunk of b
//   @binding(3)  partials  storage, read_write   array<Partial>  written by STAGE 0, read by 1
//   @binding(4)  result    storage, read_write   array<u32>  STAGE 1: one word, f32 bits or u32
// Overrides
//   OP: u32 = 0, STAGE: u32 = 0                  see above
//   WORKGROUP_SIZE: u32 = 256                    a power of two (tree reduction)
// Entry point
//   main: STAGE 0 on a 1-D grid of at most a few thousand workgroups, each striding over the
//         chunk (so no 2-D grid is ever needed); STAGE 1 on a single workgroup.
//
// Why norms are sums of scaled squares: Σ a² overflows f32 for |a| > 1.8e19 and underflows for
// |a| < 1e-19 although the norm is representable. Each invocation keeps (scale, ssq) with
// Σ a² = scale²·ssq and scale = max |a| so far (LAPACK's nrm2), and pairs merge exactly that way.
// Non-finite values are classified by their bits (see common.wgsl).
//
// Precision: f32 throughout; callers compare with a tolerance relative to the result (norms,
// distance) or to Σ|a[i]·b[i]| (dot). The count is exact.

struct Partial {
  s0: f32,             // OP 0, 3: scale of ‖a‖ (OP 3: of ‖a − b‖)
  q0: f32,             // OP 0, 3: scaled sum of squares; OP 1: the sum of products
  s1: f32,             // OP 3: scale of ‖a‖
  q1: f32,
  nan: u32,            // NaN count (OP 3: NaN or ±Inf in a or b)
  inf: u32,            // ±Inf count
  _pad0: u32,
  _pad1: u32,
}

override OP: u32 = 0u;
override STAGE: u32 = 0u;

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<Partial>;
@group(0) @binding(4) var<storage, read_write> result: array<u32>;

var<workgroup> scratch: array<Partial, WORKGROUP_SIZE>;

// Adds x² to (scale, ssq); x finite.
fn ssq_add(st: vec2<f32>, x: f32) -> vec2<f32> {
  let ax = abs(x);
  if (ax == 0.0) {
    return st;
  }
  if (ax > st.x) {
    let r = st.x / ax;
    return vec2<f32>(ax, 1.0 + st.y * r * r);
  }
  // ax == st.x is tested so that two infinite scales (overflowed a − b) give 1, not NaN.
  let r = select(ax / st.x, 1.0, ax == st.x);
  return vec2<f32>(st.x, st.y + r * r);
}

fn ssq_merge(p: vec2<f32>, q: vec2<f32>) -> vec2<f32> {
  let s = max(p.x, q.x);
  if (s == 0.0) {
    return vec2<f32>(0.0, 0.0);
  }
  let rp = select(p.x / s, 1.0, p.x == s);
  let rq = select(q.x / s, 1.0, q.x == s);
  return vec2<f32>(s, p.y * rp * rp + q.y * rq * rq);
}

fn merge(p: Partial, q: Partial) -> Partial {
  var r = Partial(0.0, 0.0, 0.0, 0.0, p.nan + q.nan, p.inf + q.inf, 0u, 0u);
  if (OP == 1u) {
    r.q0 = p.q0 + q.q0;
  } else if (OP == 0u || OP == 3u) {
    let n0 = ssq_merge(vec2<f32>(p.s0, p.q0), vec2<f32>(q.s0, q.q0));
    let n1 = ssq_merge(vec2<f32>(p.s1, p.q1), vec2<f32>(q.s1, q.q1));
    r.s0 = n0.x;
    r.q0 = n0.y;
    r.s1 = n1.x;
    r.q1 = n1.y;
  }
  return r;
}

// Scalar state of one invocation in STAGE 0 (kept out of structs: SwiftShader spills those).
var<private> s0: f32 = 0.0;
var<private> q0: f32 = 0.0;
var<private> s1: f32 = 0.0;
var<private> q1: f32 = 0.0;
var<private> nan_count: u32 = 0u;
var<private> inf_count: u32 = 0u;

// Folds element i of the bound chunk into the private state.
fn add_element(i: u32) {
  let x = a[i];
  if (OP == 1u) {
    q0 = q0 + x * b[i];
    return;
  }
  var ok = is_finite(x);
  var y = 0.0;
  if (OP == 3u) {
    y = b[i];
    ok = ok && is_finite(y);
  }
  if (!ok) {
    if (OP == 3u || is_nan(x)) {
      nan_count = nan_count + 1u;
    } else {
      inf_count = inf_count + 1u;
    }
    return;
  }
  if (OP == 0u) {
    let n = ssq_add(vec2<f32>(s0, q0), x);
    s0 = n.x;
    q0 = n.y;
  } else if (OP == 3u) {
    // a − b may overflow to ±Inf; ssq_add then carries an infinite scale, as f32 arithmetic would.
    let d = ssq_add(vec2<f32>(s0, q0), x - y);
    let n = ssq_add(vec2<f32>(s1, q1), x);
    s0 = d.x;
    q0 = d.y;
    s1 = n.x;
    q1 = n.y;
  }
}

fn finish(p: Partial) -> u32 {
  let nan_bits = 0x7fc00000u;
  let inf_bits = 0x7f800000u;
  if (OP == 2u) {
    return p.nan + p.inf;
  }
  if (OP == 1u) {
    return bitcast<u32>(p.q0);
  }
  if (p.nan > 0u) {
    return nan_bits;
  }
  if (OP == 0u) {
    if (p.inf > 0u) {
      return inf_bits;
    }
    return bitcast<u32>(p.s0 * sqrt(p.q0));
  }
  // OP 3: ‖a − b‖ / ‖a‖ = (s0 / s1) · sqrt(q0 / q1), which overflows only when the ratio does.
  if (p.s1 == 0.0) {
    return select(inf_bits, 0u, p.s0 == 0.0);
  }
  return bitcast<u32>((p.s0 / p.s1) * sqrt(p.q0 / p.q1));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, wg: WorkgroupInvocation) {
  var acc = Partial(0.0, 0.0, 0.0, 0.0, 0u, 0u, 0u, 0u);
  if (STAGE == 0u) {
    let stride = wg.groups.x * WORKGROUP_SIZE;
    for (var i = wg.wid.x * WORKGROUP_SIZE + lid.x; i < params.count; i += stride) {
      add_element(i);
    }
    acc = Partial(s0, q0, s1, q1, nan_count, inf_count, 0u, 0u);
  } else {
    for (var i = lid.x; i < params.count; i += WORKGROUP_SIZE) {
      acc = merge(acc, partials[i]);
    }
  }
  scratch[lid.x] = acc;
  workgroupBarrier();
  // Fold 16 to 1 per round rather than 2 to 1: a quarter of the barriers, which cost most where
  // the GPU is emulated on a CPU (SwiftShader switches threads at each one). Round by round,
  // invocation t folds slots t·16·step + j·step (j = 1..15) into slot t·16·step, which no other
  // invocation touches in that round.
  for (var step = 1u; step < WORKGROUP_SIZE; step = step * 16u) {
    let first = lid.x * 16u * step;
    if (first < WORKGROUP_SIZE) {
      var folded = scratch[first];
      for (var j = first + step; j < min(first + 16u * step, WORKGROUP_SIZE); j += step) {
        folded = merge(folded, scratch[j]);
      }
      scratch[first] = folded;
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    if (STAGE == 0u) {
      partials[params.partial_base + wg.wid.x] = scratch[0];
    } else {
      result[0] = finish(scratch[0]);
    }
  }
}
