/**
 * Differential privacy for a job's training data: what a tab does to a shard's update before the
 * model leaves it, and what that costs in ε.
 *
 * The mechanism: a shard trains from the model it started with (and a fresh optimizer, so that no
 * state carries one shard's samples into another's release); its update u = end − start is
 * clipped to norm C and Gaussian noise N(0, (zC)² I) is added, and the tab's model becomes
 * start + that. Everything that leaves the tab afterwards (gossip exchanges, FedAvg and checkpoint
 * uploads) is computed from released models only, so it is post-processing.
 *
 * The accounting: a sample belongs to one shard of the training split, the same in every epoch,
 * so the releases that involve it are the leases of its shard — every lease counted, trained to the
 * end or not, as an upper bound. k releases of a Gaussian mechanism with noise multiplier z
 * compose in Rényi DP to ε_α = kα / (2z²); the (ε, δ) guarantee is the best over α of the
 * conversion in Canonne, Kamath and Steinke (2020), Proposition 12 (what TensorFlow Privacy and
 * Opacus report): ε = ε_α + log(1 − 1/α) − (log δ + log α) / (α − 1). No amplification by
 * sampling is claimed: shards are not sampled at random.
 */

/** A job's privacy settings (the job spec's `privacy`). */
export interface PrivacySettings {
  /** C: the largest norm a shard's update keeps. */
  readonly clipNorm: number;
  /** z: the noise's standard deviation is z·C per parameter. */
  readonly noiseMultiplier: number;
  /** δ of the reported (ε, δ). */
  readonly delta: number;
}

export interface PrivatizedUpdate {
  /** start + clip(end − start) + noise: the model the tab keeps and releases. */
  readonly values: Float32Array;
  /** ‖end − start‖ before clipping. */
  readonly updateNorm: number;
  /** The factor the update was scaled by (1 when within the clip norm). */
  readonly clipScale: number;
}

/** Fills `out` with uniform numbers in (0, 1]; crypto.getRandomValues by default. */
export type UniformSource = (out: Float64Array) => void;

/** crypto.getRandomValues takes at most 65,536 bytes a call. */
const CRYPTO_CHUNK = 16_384;

/** Web Crypto, in browsers, workers and Node alike (core carries no DOM or Node types). */
const webCrypto = (globalThis as unknown as { crypto: { getRandomValues(array: Uint32Array): Uint32Array } })
  .crypto;

/** Uniform (0, 1] from the platform's cryptographic generator: the noise must not be predictable. */
export const cryptoUniform: UniformSource = (out) => {
  const words = new Uint32Array(CRYPTO_CHUNK);
  for (let offset = 0; offset < out.length; offset += CRYPTO_CHUNK) {
    const n = Math.min(CRYPTO_CHUNK, out.length - offset);
    webCrypto.getRandomValues(words.subarray(0, n));
    for (let i = 0; i < n; i++) out[offset + i] = ((words[i] as number) + 1) / 4_294_967_296;
  }
};

/** Clips `end − start` to `clipNorm`, adds N(0, (noiseMultiplier·clipNorm)²) to each entry. */
export function privatizeUpdate(
  start: Float32Array,
  end: Float32Array,
  settings: Pick<PrivacySettings, 'clipNorm' | 'noiseMultiplier'>,
  uniform: UniformSource = cryptoUniform,
): PrivatizedUpdate {
  if (start.length !== end.length)
    throw new RangeError(`the update's ends differ in length: ${start.length} and ${end.length}`);
  const n = start.length;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += ((end[i] as number) - (start[i] as number)) ** 2;
  const updateNorm = Math.sqrt(squares);
  if (!Number.isFinite(updateNorm)) throw new RangeError('the update is not finite');
  const clipScale = updateNorm > settings.clipNorm ? settings.clipNorm / updateNorm : 1;
  const sigma = settings.noiseMultiplier * settings.clipNorm;
  // Box–Muller: two uniforms make two independent standard normals.
  const u = new Float64Array(n + (n % 2));
  uniform(u);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(u[i] as number));
    const angle = 2 * Math.PI * (u[i + 1] as number);
    for (let j = 0; j < 2 && i + j < n; j++) {
      const k = i + j;
      const normal = radius * (j === 0 ? Math.cos(angle) : Math.sin(angle));
      const s = start[k] as number;
      values[k] = s + ((end[k] as number) - s) * clipScale + sigma * normal;
    }
  }
  return { values, updateNorm, clipScale };
}

/**
 * ε of `releases` Gaussian releases with noise multiplier `noiseMultiplier`, at `delta`. 0 with no
 * release; Infinity when the noise is too small to bound anything (a tiny multiplier).
 */
export function gaussianEpsilon(noiseMultiplier: number, releases: number, delta: number): number {
  if (!(noiseMultiplier > 0) || !(delta > 0 && delta < 1) || !(releases >= 0))
    throw new RangeError('noiseMultiplier and releases must be positive and delta in (0, 1)');
  if (releases === 0) return 0;
  const rho = releases / (2 * noiseMultiplier * noiseMultiplier);
  const epsilonAt = (alpha: number): number =>
    rho * alpha + Math.log1p(-1 / alpha) - (Math.log(delta) + Math.log(alpha)) / (alpha - 1);
  // The bound is convex in α on (1, ∞): a golden-section search on log(α − 1).
  const golden = (Math.sqrt(5) - 1) / 2;
  let lo = Math.log(1e-6);
  let hi = Math.log(1e7);
  const at = (x: number): number => epsilonAt(1 + Math.exp(x));
  let a = hi - golden * (hi - lo);
  let b = lo + golden * (hi - lo);
  let fa = at(a);
  let fb = at(b);
  for (let i = 0; i < 200 && hi - lo > 1e-9; i++) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - golden * (hi - lo);
      fa = at(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + golden * (hi - lo);
      fb = at(b);
    }
  }
  const epsilon = Math.min(fa, fb);
  return Number.isFinite(epsilon) ? Math.max(0, epsilon) : Number.POSITIVE_INFINITY;
}
