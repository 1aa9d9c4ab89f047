/**
 * The benchmark page: for each kernel and size, our WGSL kernel (buffer-level, in place, as the
 * trainer uses it) against the same computation composed from TensorFlow.js ops on the same
 * WebGPU device, and a plain copy kernel (the achievable bandwidth: the roofline), measured in the
 * same run. GPU time is taken up to device.queue.onSubmittedWorkDone() after each timed batch; every
 * batch's time goes back to the driver (@tabswarm/bench's kernels part), which takes the statistics.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import {
  adamBuffers,
  clipByNormBuffer,
  countNonFiniteBuffer,
  dotBuffers,
  flushTfjsCommands,
  fp16PackBuffers,
  fp16UnpackBuffers,
  fp16Words,
  getTfjsDevice,
  int8Blocks,
  int8DequantizeBuffers,
  int8QuantizeBuffers,
  int8Words,
  l2NormBuffer,
  mixBuffers,
  relativeDistanceBuffers,
  sgdMomentumBuffers,
  topKScatterAddBuffers,
  topKSparsifyBuffers,
} from '../src/index.ts';
import { mulberry32 as createRng, randomVector } from '@tabswarm/core';
import type { BenchAdapter, BenchApi, BenchOptions, BenchRow, CopyRow } from './bench-api.ts';
import { createCopyKernel } from './copy-kernel.ts';

/** One kernel at one size: both sides set up, ready to be called repeatedly. */
interface Case {
  readonly bytes: number;
  readonly ours: () => void;
  readonly tfjs: (() => void) | null;
  readonly note: string;
  /** False for the kernels that do not stream their bytes once (selection, scatter). */
  readonly memoryBound?: false;
  dispose(): void;
}

type CaseFactory = (device: GPUDevice, n: number) => Case;

const INT8_BLOCK = 256;
/** tf.topk sorts on the GPU: beyond this many elements it takes too long to be worth waiting for. */
const TFJS_TOPK_MAX = 1 << 20;

/** Buffers and tensors of one case, all released by dispose(). */
class Arena {
  private readonly buffers: GPUBuffer[] = [];
  private readonly tensors: tf.Tensor[] = [];
  private seed = 1;

  constructor(private readonly device: GPUDevice) {}

  random(n: number, scale = 1): Float32Array {
    return randomVector(createRng(this.seed++), n, scale);
  }

  buffer(data: Float32Array | number): GPUBuffer {
    const bytes = typeof data === 'number' ? data : data.byteLength;
    const b = this.device.createBuffer({
      label: 'bench',
      size: Math.max(256, Math.ceil(bytes / 4) * 4),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    if (typeof data !== 'number') this.device.queue.writeBuffer(b, 0, data);
    this.buffers.push(b);
    return b;
  }

  tensor(data: Float32Array): tf.Tensor1D {
    const t = tf.tensor1d(data);
    this.tensors.push(t);
    return t;
  }

  keep<T extends tf.Tensor>(t: T): T {
    this.tensors.push(t);
    return t;
  }

  dispose(): void {
    for (const b of this.buffers) b.destroy();
    tf.dispose(this.tensors);
  }
}

/** A tensor replaced by a new value on every call, as tfjs's functional ops require. */
class Slot<T extends tf.Tensor> {
  constructor(public value: T) {}
  set(next: T): void {
    this.value.dispose();
    this.value = next;
  }
}

function mixCase(k: number): CaseFactory {
  return (device, n) => {
    const arena = new Arena(device);
    const data = Array.from({ length: k }, () => arena.random(n));
    const weights = Array<number>(k).fill(1 / k);
    const buffers = data.map((d) => arena.buffer(d));
    const inputs = data.map((d) => arena.tensor(d));
    const first = new Slot<tf.Tensor>(tf.clone(inputs[0] as tf.Tensor1D));
    return {
      bytes: (k + 1) * 4 * n,
      note: `K = ${k}, in place`,
      ours: () => mixBuffers(device, buffers, weights, buffers[0] as GPUBuffer, n),
      tfjs: () =>
        first.set(
          tf.tidy(() => {
            const terms = [first.value, ...inputs.slice(1)].map((x, i) => tf.mul(x, weights[i] as number));
            // tfjs 4.22's AddN binds every input plus the output: beyond 7 inputs that exceeds
            // the default 8 storage buffers per stage and its pipeline is invalid (nothing runs).
            return terms.length <= 7 ? tf.addN(terms) : terms.reduce((sum, t) => tf.add(sum, t));
          }),
        ),
      dispose: () => {
        first.value.dispose();
        arena.dispose();
      },
    };
  };
}

/** tfjs's own optimizer on a variable, so the comparison is with what model.fit would run. */
function optimizerCase(kind: 'momentum' | 'adam' | 'adamw'): CaseFactory {
  return (device, n) => {
    const arena = new Arena(device);
    const [p, g] = [arena.random(n), arena.random(n, 0.01)];
    const zeros = new Float32Array(n);
    const lr = 1e-3;
    const wd = 0.01;
    const b = {
      param: arena.buffer(p),
      grad: arena.buffer(g),
      m: arena.buffer(zeros),
      v: arena.buffer(zeros),
    };
    const variable = arena.keep(tf.variable(tf.tensor1d(p), true, `bench-${kind}-${n}-${Math.random()}`));
    const grad = arena.tensor(g);
    // As the base class: the subclasses declare applyGradients for variables only.
    const optimizer: tf.Optimizer =
      kind === 'momentum' ? tf.train.momentum(lr, 0.9, true) : tf.train.adam(lr);
    let step = 0;
    return {
      bytes: (kind === 'momentum' ? 20 : 28) * n,
      note:
        kind === 'momentum'
          ? 'Nesterov; vs tf.train.momentum'
          : kind === 'adam'
            ? 'vs tf.train.adam'
            : 'vs tf.train.adam + decay ops',
      ours: () => {
        step++;
        if (kind === 'momentum') {
          sgdMomentumBuffers(device, { param: b.param, grad: b.grad, accumulation: b.m }, n, {
            learningRate: lr,
            momentum: 0.9,
            useNesterov: true,
          });
        } else {
          adamBuffers(device, b, n, { learningRate: lr, weightDecay: kind === 'adamw' ? wd : 0 }, step);
        }
      },
      tfjs: () => {
        if (kind === 'adamw') tf.tidy(() => variable.assign(tf.sub(variable, tf.mul(variable, lr * wd))));
        optimizer.applyGradients({ [variable.name]: grad });
      },
      dispose: () => {
        optimizer.dispose();
        arena.dispose();
      },
    };
  };
}

function reductionCase(kind: 'l2-norm' | 'dot' | 'count-non-finite' | 'distance'): CaseFactory {
  return (device, n) => {
    const arena = new Arena(device);
    const [a, b] = [arena.random(n), arena.random(n)];
    const [ga, gb, result] = [arena.buffer(a), arena.buffer(b), arena.buffer(256)];
    const [ta, tb] = [arena.tensor(a), arena.tensor(b)];
    const target = { buffer: result };
    const run: Record<typeof kind, [() => void, () => tf.Tensor, number]> = {
      'l2-norm': [() => l2NormBuffer(device, ga, n, target), () => tf.norm(ta), 4],
      dot: [() => dotBuffers(device, ga, gb, n, target), () => tf.sum(tf.mul(ta, tb)), 8],
      'count-non-finite': [
        () => countNonFiniteBuffer(device, ga, n, target),
        () => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(ta)), 'int32')),
        4,
      ],
      distance: [
        () => relativeDistanceBuffers(device, ga, gb, n, target),
        () => tf.div(tf.norm(tf.sub(ta, tb)), tf.norm(ta)),
        8,
      ],
    };
    const [ours, composed, bytes] = run[kind];
    return {
      bytes: bytes * n,
      note: 'result stays on the GPU',
      ours,
      tfjs: () => tf.dispose(tf.tidy(composed)),
      dispose: () => arena.dispose(),
    };
  };
}

const clipCase: CaseFactory = (device, n) => {
  const arena = new Arena(device);
  const x = arena.random(n);
  const buffer = arena.buffer(x);
  const slot = new Slot(tf.tensor1d(x));
  // A limit above the norm: the data stays the same from call to call, the work is the same.
  const maxNorm = Math.sqrt(n);
  return {
    bytes: 12 * n,
    note: 'norm + scale, no CPU round trip',
    ours: () => clipByNormBuffer(device, buffer, n, maxNorm),
    tfjs: () =>
      slot.set(
        tf.tidy(() => tf.mul<tf.Tensor1D>(slot.value, tf.minimum(1, tf.div(maxNorm, tf.norm(slot.value))))),
      ),
    dispose: () => {
      slot.value.dispose();
      arena.dispose();
    },
  };
};

function fp16Case(direction: 'pack' | 'unpack'): CaseFactory {
  return (device, n) => {
    const arena = new Arena(device);
    const [x, packed] = [arena.buffer(arena.random(n)), arena.buffer(fp16Words(n) * 4)];
    fp16PackBuffers(device, x, packed, n);
    return {
      bytes: 6 * n,
      note: 'tfjs has no float16 dtype',
      ours:
        direction === 'pack'
          ? () => fp16PackBuffers(device, x, packed, n)
          : () => fp16UnpackBuffers(device, packed, x, n),
      tfjs: null,
      dispose: () => arena.dispose(),
    };
  };
}

const int8QuantizeCase: CaseFactory = (device, n) => {
  const arena = new Arena(device);
  const x = arena.random(n);
  const b = {
    x: arena.buffer(x),
    residual: arena.buffer(new Float32Array(n)),
    packed: arena.buffer(int8Words(n) * 4),
    scales: arena.buffer(int8Blocks(n, INT8_BLOCK) * 4),
  };
  const tx = arena.tensor(x);
  const residual = new Slot(tf.zeros<tf.Rank.R1>([n]));
  const q = new Slot<tf.Tensor>(tf.zeros([1]));
  const scales = new Slot<tf.Tensor>(tf.zeros([1]));
  const blocks = n / INT8_BLOCK;
  return {
    bytes: (13 + 4 / INT8_BLOCK) * n,
    note: `error feedback, blocks of ${INT8_BLOCK}; tfjs side unpacked int32`,
    ours: () => int8QuantizeBuffers(device, b, n, { blockSize: INT8_BLOCK }),
    tfjs: () => {
      const [nq, ns, nr] = tf.tidy(() => {
        const y = tf.reshape(tf.add(tx, residual.value), [blocks, INT8_BLOCK]);
        const scale = tf.div(tf.max(tf.abs(y), 1, true), 127);
        const levels = tf.clipByValue(tf.round(tf.div(y, scale)), -127, 127);
        const decoded = tf.mul(levels, scale);
        return [tf.cast(levels, 'int32'), scale, tf.reshape<tf.Rank.R1>(tf.sub(y, decoded), [n])] as const;
      });
      q.set(nq);
      scales.set(ns);
      residual.set(nr);
    },
    dispose: () => {
      tf.dispose([residual.value, q.value, scales.value]);
      arena.dispose();
    },
  };
};

const int8DequantizeCase: CaseFactory = (device, n) => {
  const arena = new Arena(device);
  const b = {
    x: arena.buffer(arena.random(n)),
    residual: null,
    packed: arena.buffer(int8Words(n) * 4),
    scales: arena.buffer(int8Blocks(n, INT8_BLOCK) * 4),
  };
  int8QuantizeBuffers(device, b, n, { blockSize: INT8_BLOCK });
  const out = arena.buffer(n * 4);
  const blocks = n / INT8_BLOCK;
  const levels = arena.keep(tf.randomUniformInt([blocks, INT8_BLOCK], -127, 128));
  const scales = arena.keep(tf.randomUniform([blocks, 1], 0, 0.01));
  return {
    bytes: 5 * n,
    note: 'tfjs side from unpacked int32',
    ours: () =>
      int8DequantizeBuffers(device, { packed: b.packed, scales: b.scales, out }, n, {
        blockSize: INT8_BLOCK,
      }),
    tfjs: () => tf.dispose(tf.tidy(() => tf.mul(tf.cast(levels, 'float32'), scales))),
    dispose: () => arena.dispose(),
  };
};

const topKCase: CaseFactory = (device, n) => {
  const arena = new Arena(device);
  const k = Math.max(1, Math.floor(n / 100));
  const x = arena.random(n);
  const b = {
    x: arena.buffer(x),
    residual: arena.buffer(new Float32Array(n)),
    indices: arena.buffer(k * 4),
    values: arena.buffer(k * 4),
  };
  const tx = arena.tensor(x);
  const residual = new Slot(tf.zeros<tf.Rank.R1>([n]));
  const pairs = new Slot<tf.Tensor>(tf.zeros([1]));
  const zeros = arena.keep(tf.zeros([k]));
  return {
    bytes: 12 * n,
    memoryBound: false,
    note:
      n > TFJS_TOPK_MAX
        ? 'k = n/100, error feedback; tfjs side skipped above 2^20 (seconds per call)'
        : 'k = n/100, error feedback; tfjs: tf.topk + gather + tensorScatterUpdate',
    ours: () => topKSparsifyBuffers(device, b, n, k),
    tfjs:
      n > TFJS_TOPK_MAX
        ? null
        : () => {
            const [values, nr] = tf.tidy(() => {
              const y = tf.add(tx, residual.value);
              const { indices } = tf.topk(tf.abs(y), k);
              return [
                tf.gather(y, indices),
                tf.tensorScatterUpdate(y, tf.expandDims(indices, 1), zeros) as tf.Tensor1D,
              ] as const;
            });
            pairs.set(values);
            residual.set(nr);
          },
    dispose: () => {
      tf.dispose([residual.value, pairs.value]);
      arena.dispose();
    },
  };
};

const scatterAddCase: CaseFactory = (device, n) => {
  const arena = new Arena(device);
  const k = Math.max(1, Math.floor(n / 100));
  const indices = new Uint32Array(k).map((_, j) => Math.floor((j * n) / k));
  const values = arena.random(k);
  const b = {
    indices: arena.buffer(new Float32Array(indices.buffer)),
    values: arena.buffer(values),
    out: arena.buffer(arena.random(n)),
  };
  const ti = arena.keep(tf.tensor2d(new Int32Array(indices), [k, 1], 'int32'));
  const tv = arena.tensor(values);
  const target = new Slot(tf.tensor1d(arena.random(n)));
  return {
    // Ours touches only the pairs and their k targets; tfjs's scatterND builds a dense vector.
    bytes: 16 * k,
    memoryBound: false,
    note: 'k = n/100, bytes for the k pairs; tfjs: scatterND + add',
    ours: () => topKScatterAddBuffers(device, b, k, n),
    tfjs: () => target.set(tf.tidy(() => tf.add(target.value, tf.scatterND(ti, tv, [n])))),
    dispose: () => {
      target.value.dispose();
      arena.dispose();
    },
  };
};

const CASES: Readonly<Record<string, CaseFactory>> = {
  'mix-2': mixCase(2),
  'mix-8': mixCase(8),
  'sgd-momentum': optimizerCase('momentum'),
  adam: optimizerCase('adam'),
  adamw: optimizerCase('adamw'),
  'l2-norm': reductionCase('l2-norm'),
  dot: reductionCase('dot'),
  'count-non-finite': reductionCase('count-non-finite'),
  distance: reductionCase('distance'),
  'clip-by-norm': clipCase,
  'fp16-pack': fp16Case('pack'),
  'fp16-unpack': fp16Case('unpack'),
  'int8-quantize': int8QuantizeCase,
  'int8-dequantize': int8DequantizeCase,
  'top-k': topKCase,
  'top-k-scatter-add': scatterAddCase,
};

async function settle(device: GPUDevice): Promise<void> {
  flushTfjsCommands(device);
  await device.queue.onSubmittedWorkDone();
}

/** Milliseconds per call over a batch of `count` calls, up to the GPU finishing them. */
async function batch(device: GPUDevice, call: () => void, count: number): Promise<number> {
  await settle(device);
  const started = performance.now();
  for (let i = 0; i < count; i++) call();
  await settle(device);
  return (performance.now() - started) / count;
}

/**
 * Per side, milliseconds per call of each timed batch. Warm-up first (pipelines, tfjs's shader
 * cache and buffer pool), then batches sized to last minBatchMs. A WebGPU error means that side
 * did not really run: fail loudly rather than report its time.
 */
async function timeSides(
  device: GPUDevice,
  name: string,
  sides: readonly (() => void)[],
  options: BenchOptions,
): Promise<number[][]> {
  const counts: number[] = [];
  for (const [s, side] of sides.entries()) {
    device.pushErrorScope('validation');
    await batch(device, side, 2);
    const error = await device.popErrorScope();
    if (error !== null) throw new Error(`${name} (${s === 0 ? 'ours' : 'tfjs'}): ${error.message}`);
    const once = await batch(device, side, 1);
    counts.push(Math.min(200, Math.max(1, Math.ceil(options.minBatchMs / Math.max(once, 0.01)))));
  }
  // Interleaved, so that drift in the machine's speed affects both sides alike.
  const times: number[][] = sides.map(() => []);
  for (let r = 0; r < options.repetitions; r++) {
    for (const [s, side] of sides.entries()) times[s]?.push(await batch(device, side, counts[s] as number));
  }
  return times;
}

/** The copy kernel at n floats: the bandwidth every memory-bound kernel is judged against. */
async function measureCopy(device: GPUDevice, n: number, options: BenchOptions): Promise<CopyRow> {
  const arena = new Arena(device);
  try {
    const copy = createCopyKernel(device);
    const [src, dst] = [arena.buffer(arena.random(n)), arena.buffer(n * 4)];
    const [ms] = await timeSides(device, 'copy', [() => copy(src, dst, n)], options);
    return { elements: n, bytes: 8 * n, ms: ms as number[] };
  } finally {
    arena.dispose();
    await settle(device);
  }
}

async function measure(device: GPUDevice, name: string, n: number, options: BenchOptions): Promise<BenchRow> {
  const c = (CASES[name] as CaseFactory)(device, n);
  try {
    const sides = c.tfjs === null ? [c.ours] : [c.ours, c.tfjs];
    const times = await timeSides(device, name, sides, options);
    return {
      kernel: name,
      elements: n,
      bytes: c.bytes,
      oursMs: times[0] as number[],
      tfjsMs: c.tfjs === null ? null : (times[1] as number[]),
      memoryBound: c.memoryBound ?? true,
      note: c.note,
    };
  } finally {
    c.dispose();
    await settle(device);
  }
}

tf.env().set('WEBGPU_CPU_FORWARD', false);
const adapterInfo = 'gpu' in navigator ? ((await navigator.gpu.requestAdapter())?.info ?? null) : null;
const ready = adapterInfo !== null && (await tf.setBackend('webgpu')) && tf.getBackend() === 'webgpu';

const api: BenchApi = {
  adapter(): BenchAdapter | null {
    if (adapterInfo === null) return null;
    const { vendor, architecture, description, isFallbackAdapter } = adapterInfo;
    return { vendor, architecture, description, fallback: isFallbackAdapter };
  },
  kernelNames: () => Object.keys(CASES),
  async run(options) {
    const device = getTfjsDevice();
    if (!ready || device === null) throw new Error('tfjs has no WebGPU backend in this browser');
    const names = options.kernels.length === 0 ? Object.keys(CASES) : options.kernels;
    const unknown = names.filter((n) => !(n in CASES));
    if (unknown.length > 0) throw new Error(`unknown kernels: ${unknown.join(', ')}`);
    // The copy before and after the kernels, its samples pooled: the machine's speed drifts over
    // a run (other processes, clocks), and the roofline should not depend on when it was taken.
    const before: CopyRow[] = [];
    for (const n of options.sizes) before.push(await measureCopy(device, n, options));
    const rows: BenchRow[] = [];
    for (const name of names) {
      for (const n of options.sizes) rows.push(await measure(device, name, n, options));
    }
    const copy: CopyRow[] = [];
    for (const row of before) {
      const after = await measureCopy(device, row.elements, options);
      copy.push({ ...row, ms: [...row.ms, ...after.ms] });
    }
    return { copy, rows };
  },
};
window.tabswarmBench = api;
