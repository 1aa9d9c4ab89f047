// fp16-unpack.wgsl: converts IEEE binary16 pairs (as written by fp16-pack.wgsl) back to f32.
// Every f16 value, subnormals, ±Inf and NaN included, is exactly representable in f32.
//
// Why by hand and not unpack2x16float: WGSL does not promise how that treats Inf and NaN.
//
// Bindings (group 0; binding 0 is Params, see common.wgsl)
//   @binding(1)  packed  storage, read          array<u32>  the bound chunk, ceil(n / 2) words
//   @binding(2)  out     storage, read_write    array<f32>  the matching chunk of n floats
// Entry point
//   main: one invocation per input word (two elements), on a 2-D grid of workgroups

@group(0) @binding(1) var<storage, read> packed: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn f16_to_f32(h: u32) -> f32 {
  let sign = (h & 0x8000u) << 16u;
  let exponent = (h >> 10u) & 0x1fu;
  let mantissa = h & 0x3ffu;
  if (exponent == 0x1fu) {
    return bitcast<f32>(sign | 0x7f800000u | (mantissa << 13u));
  }
  if (exponent == 0u) {
    // Subnormal (or zero): mantissa · 2^-24, exact in f32; the sign goes on by bits (keeps -0).
    let magnitude = f32(mantissa) * 5.9604644775390625e-8;
    return bitcast<f32>(sign | bitcast<u32>(magnitude));
  }
  return bitcast<f32>(sign | ((exponent + 112u) << 23u) | (mantissa << 13u));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(grid: GridInvocation) {
  let w = item_index(grid, params.base_word, params.words);
  if (w == NO_ITEM) { return; }
  let word = packed[w];
  out[2u * w] = f16_to_f32(word & 0xffffu);
  if (2u * w + 1u < params.elements) {
    out[2u * w + 1u] = f16_to_f32(word >> 16u);
  }
}
