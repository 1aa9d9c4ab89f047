// fp16-pack.wgsl: converts f32 to IEEE binary16, two per u32 word (element 2w in the low half,
// 2w + 1 in the high half, so the words' bytes read as a little-endian Uint16Array).
//
//   rounding: to nearest, ties to even; |x| ≥ 65520 → ±Inf; |x| < 2^-25 → ±0 (f16 subnormals kept);
//   NaN → a quiet NaN (0x7e00 | top mantissa bits), ±Inf → ±Inf; the sign of zero is kept.
//
// Why by hand and not pack2x16float: WGSL leaves its rounding to the implementation and its
// result indeterminate for values outside the f16 range, and peers on different GPUs must encode
// the same vector to the same bits. This integer code matches fp16-reference.ts bit for bit.
//
// Bindings (group 0; binding 0 is Params, see common.wgsl)
//   @binding(1)  x       storage, read          array<f32>  the bound chunk
//   @binding(2)  packed  storage, read_write    array<u32>  the matching chunk, ceil(n / 2) words
// Entry point
//   main: one invocation per output word (two elements), on a 2-D grid of workgroups

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> packed: array<u32>;

fn f32_to_f16(value: f32) -> u32 {
  let bits = bitcast<u32>(value);
  let sign = (bits >> 16u) & 0x8000u;
  let exponent = (bits >> 23u) & 0xffu;
  let mantissa = bits & 0x7fffffu;
  if (exponent == 0xffu) {
    // Inf stays Inf; NaN keeps its top payload bits and is made quiet.
    return select(sign | 0x7c00u, sign | 0x7e00u | (mantissa >> 13u), mantissa != 0u);
  }
  let e = i32(exponent) - 127;
  if (e > 15) {
    return sign | 0x7c00u;
  }
  if (e >= -14) {
    // Normal f16: keep 10 mantissa bits, round on the 13 dropped. A carry out of the mantissa
    // moves into the exponent, and out of the largest exponent into Inf (0x7c00), as it should.
    var h = (u32(e + 15) << 10u) | (mantissa >> 13u);
    let rest = mantissa & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) == 1u)) {
      h = h + 1u;
    }
    return sign | h;
  }
  if (e < -25) {
    return sign;
  }
  // Subnormal f16 (e in -25..-15): the 24-bit significand shifted right by 14..24 bits.
  let significand = mantissa | 0x800000u;
  let shift = u32(-1 - e);
  var h = significand >> shift;
  let rest = significand & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  if (rest > half || (rest == half && (h & 1u) == 1u)) {
    h = h + 1u;
  }
  return sign | h;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(grid: GridInvocation) {
  let w = item_index(grid, params.base_word, params.words);
  if (w == NO_ITEM) { return; }
  let lo = f32_to_f16(x[2u * w]);
  var hi = 0u;
  if (2u * w + 1u < params.elements) {
    hi = f32_to_f16(x[2u * w + 1u]);
  }
  packed[w] = lo | (hi << 16u);
}
