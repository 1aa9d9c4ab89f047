// topk-select.wgsl: after topk-histogram.wgsl has counted digit d, picks the bin that holds the
// k-th largest key, narrows the prefix by that digit and clears the histogram for the next digit.
// After digit 3, state holds the k-th largest key T itself:
//
//   state[0]  T: prefix of the selected key (complete after digit 3)
//   state[1]  how many keys equal to T still belong to the top k (ties, taken in index order)
//   state[2]  how many keys are greater than T
//   state[3]  left for topk-scan.wgsl: the number of pairs written
//
// The host clamps k to 1..n, so the bin always exists.
//
// Bindings (group 0; binding 0 is Params, see common.wgsl)
//   @binding(1)  hist    storage, read_write    array<u32, 256>
//   @binding(2)  state   storage, read_write    array<u32, 4>
// Entry point
//   main: a single invocation; 256 bins are too few to be worth a parallel scan.

@group(0) @binding(1) var<storage, read_write> hist: array<u32, 256>;
@group(0) @binding(2) var<storage, read_write> state: array<u32, 4>;

@compute @workgroup_size(1)
fn main() {
  if (params.digit == 0u) {
    state[0] = 0u;
    state[1] = params.k;
    state[2] = 0u;
    state[3] = 0u;
  }
  let remaining = state[1];
  var above = 0u;
  var chosen = 0u;
  for (var b = 255i; b >= 0i; b--) {
    let c = hist[b];
    if (above + c >= remaining) {
      chosen = u32(b);
      break;
    }
    above += c;
  }
  for (var b = 0u; b < 256u; b++) {
    hist[b] = 0u;
  }
  state[0] = state[0] | (chosen << (24u - 8u * params.digit));
  state[1] = remaining - above;
  state[2] = state[2] + above;
}
