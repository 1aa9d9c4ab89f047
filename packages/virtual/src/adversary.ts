/**
 * An attacker on the wire: the `fetch` of a virtual volunteer (VirtualVolunteerOptions.fetch) that
 * leaves the volunteer's own classes as they are — it joins, leases, trains, completes, answers
 * checkpoint requests and takes part in FedAvg rounds exactly as an honest tab does — and changes
 * only the bytes it exchanges with the coordinator over HTTP, as a modified client would:
 * - 'sign-flip': every parameter upload (a FedAvg round's, a checkpoint's) becomes
 *   reference − factor × (local − reference): the honest update sign-flipped and scaled (factor
 *   1000 by default). The reference is the latest global model the volunteer received — the job's
 *   parameters it downloaded, then each FedAvg round's average — which is what the coordinator
 *   measures a round from.
 * - 'noise': local + N(0, σ²) per entry (σ 200 by default): the honest update plus Gaussian noise.
 * - 'nan': the honest upload with a share of its entries (1 % by default, at least one) NaN.
 * - 'label-flip': every training shard it downloads has each label y replaced by C − 1 − y (C, the
 *   dataset's class count, read from the dataset reply it fetched); it trains on those and uploads
 *   what it trained, unaltered.
 * The poison is applied to the copy that goes on the wire only: the FedAvg client keeps the
 * honest snapshot it uploaded, so the round's average reaches the attacker's model as it reaches
 * anyone's, and the next update is again one honest shard's worth, sign-flipped or noised.
 *
 * Why the wire and not a ComputePort wrapper (as slowed-compute.ts is): a compute that returned
 * poisoned parameters would have them written back by the averaging hook (the FedAvg client
 * computes average + (now − uploaded) on what it read), so the attacker's own model would become
 * the poison and its next "update" garbage of ever larger size; and the shards a compute trains
 * on are fetched inside it. On the wire, what reaches the coordinator's aggregation is exactly
 * what a real attacker's modified client would send, through the same routes, tokens and checks.
 */
import { mulberry32 } from '@tabswarm/core';
import {
  decodeFrame,
  encodeFp32Frame,
  frameValues,
  parseReply,
  SHARD_HEADER_BYTES,
  shardBytes,
} from '@tabswarm/protocol';

export type AdversaryBehaviour =
  | { readonly kind: 'sign-flip'; readonly factor?: number }
  | { readonly kind: 'noise'; readonly sigma?: number; readonly seed?: number }
  | { readonly kind: 'nan'; readonly fraction?: number; readonly seed?: number }
  | { readonly kind: 'label-flip' };

export type AdversaryKind = AdversaryBehaviour['kind'];

/** What an adversary did, for a test's report and assertions. */
export interface AdversaryCounts {
  /** Parameter uploads poisoned: FedAvg rounds and checkpoints. */
  readonly fedAvgUploads: number;
  readonly checkpointUploads: number;
  /** Training shards whose labels it flipped. */
  readonly shardsFlipped: number;
  /** Labels changed in those shards. */
  readonly labelsFlipped: number;
  /** Its parameter uploads (FedAvg and checkpoint) the coordinator refused, by error code. */
  readonly refused: Readonly<Record<string, number>>;
}

export interface Adversary {
  readonly behaviour: AdversaryBehaviour;
  /** The volunteer's fetch: give it as VirtualVolunteerOptions.fetch. */
  readonly fetch: typeof fetch;
  counts(): AdversaryCounts;
}

const FEDAVG_UPLOAD = /^\/api\/jobs\/([^/]+)\/fedavg\/uploads$/;
const CHECKPOINT_UPLOAD = /^\/api\/jobs\/([^/]+)\/checkpoint-uploads\/[^/]+$/;
const PARAMETERS = /^\/api\/jobs\/([^/]+)\/parameters$/;
const DATASET = /^\/api\/datasets\/([^/]+)$/;
const SAMPLES = /^\/api\/datasets\/([^/]+)\/samples$/;

/** A standard normal draw (Box–Muller) from a uniform generator. */
function gaussian(random: () => number): number {
  const u = 1 - random(); // (0, 1]: no log(0)
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function bodyBytes(body: RequestInit['body']): Uint8Array | null {
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return null;
}

/** A response with a replaced body, its status and headers kept. */
function withBody(response: Response, body: Uint8Array): Response {
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  headers.delete('content-encoding');
  return new Response(body.slice().buffer, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

/**
 * Labels y → C − 1 − y in a training shard's bytes (the layout of packages/protocol/src/shard.ts),
 * in a copy; null when the bytes are not a well-formed shard (the volunteer's decoder then refuses
 * them as it would anyway).
 */
export function flipShardLabels(
  bytes: Uint8Array,
  classes: number,
): { bytes: Uint8Array; flipped: number } | null {
  if (bytes.length < SHARD_HEADER_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dtype = view.getUint8(6) === 0 ? 'uint8' : 'float32';
  const labelDtype = view.getUint8(7) === 0 ? 'uint8' : 'uint16';
  const count = view.getUint32(8, true);
  const featureCount = view.getUint32(12, true);
  if (bytes.length !== shardBytes({ dtype, labelDtype, count, featureCount })) return null;
  const out = bytes.slice();
  const outView = new DataView(out.buffer);
  const yOffset =
    SHARD_HEADER_BYTES + Math.ceil((count * featureCount * (dtype === 'uint8' ? 1 : 4)) / 4) * 4;
  let flipped = 0;
  for (let i = 0; i < count; i++) {
    const at = labelDtype === 'uint8' ? yOffset + i : yOffset + i * 2;
    const y = labelDtype === 'uint8' ? outView.getUint8(at) : outView.getUint16(at, true);
    if (y >= classes) continue; // not a label of this dataset: left for the decoder to judge
    const z = classes - 1 - y;
    if (z !== y) flipped++;
    if (labelDtype === 'uint8') outView.setUint8(at, z);
    else outView.setUint16(at, z, true);
  }
  return { bytes: out, flipped };
}

/** An attacker with this behaviour, for one virtual volunteer. */
export function adversary(behaviour: AdversaryBehaviour, base: typeof fetch = fetch): Adversary {
  /** Per job: the latest global model received (the job's parameters, then each round's average). */
  const references = new Map<string, Float32Array>();
  /** Per dataset: its class count, from the dataset reply. */
  const classes = new Map<string, number>();
  const counts = { fedAvgUploads: 0, checkpointUploads: 0, shardsFlipped: 0, labelsFlipped: 0 };
  const refused: Record<string, number> = {};
  /** Counts a refused upload by the code of its JSON error (the response is left for the volunteer). */
  const noteRefusal = async (response: Response): Promise<Response> => {
    if (response.ok) return response;
    let code = `HTTP_${response.status}`;
    try {
      // Upload routes answer { ok: false, code }; the shared error handler { error: { code } }.
      const body = (await response.clone().json()) as { code?: unknown; error?: { code?: unknown } };
      const named = body.code ?? body.error?.code;
      if (typeof named === 'string') code = named;
    } catch {
      // not JSON: the status says it
    }
    refused[code] = (refused[code] ?? 0) + 1;
    return response;
  };
  const random = mulberry32('seed' in behaviour && behaviour.seed !== undefined ? behaviour.seed : 1);

  const poison = (values: Float32Array, reference: Float32Array | undefined): Float32Array => {
    const out = new Float32Array(values);
    switch (behaviour.kind) {
      case 'sign-flip': {
        const factor = behaviour.factor ?? 1000;
        for (let i = 0; i < out.length; i++) {
          const r = reference !== undefined && reference.length === out.length ? (reference[i] as number) : 0;
          out[i] = r - factor * ((out[i] as number) - r);
        }
        return out;
      }
      case 'noise': {
        const sigma = behaviour.sigma ?? 200;
        for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + sigma * gaussian(random);
        return out;
      }
      case 'nan': {
        const fraction = behaviour.fraction ?? 0.01;
        out[Math.floor(random() * out.length)] = Number.NaN;
        for (let i = 0; i < out.length; i++) if (random() < fraction) out[i] = Number.NaN;
        return out;
      }
      case 'label-flip':
        return out;
    }
  };

  /** A parameter upload's frame with poisoned values, or the body as it was if it is no fp32 frame. */
  const poisonedFrame = (bytes: Uint8Array, jobId: string): Uint8Array => {
    const frame = decodeFrame(bytes);
    if (!frame.ok || frame.header.codec !== 'fp32') return bytes;
    const { jobId: frameJob, senderId, round } = frame.header;
    const values = poison(frameValues(frame), references.get(jobId));
    return encodeFp32Frame({ jobId: frameJob, senderId, round, values });
  };

  /** Keeps a global model the coordinator sent (an fp32 frame) as the job's reference. */
  const remember = async (response: Response, jobId: string): Promise<Response> => {
    if (!response.ok) return response;
    const bytes = new Uint8Array(await response.arrayBuffer());
    const frame = decodeFrame(bytes);
    if (frame.ok && frame.header.codec === 'fp32') references.set(jobId, frameValues(frame).slice());
    return withBody(response, bytes);
  };

  const wrapped = async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const url = new URL(href);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const path = url.pathname;
    const body = bodyBytes(init?.body);
    let match: RegExpExecArray | null;
    if (method === 'POST' && body !== null && (match = FEDAVG_UPLOAD.exec(path)) !== null) {
      const jobId = decodeURIComponent(match[1] as string);
      const sent = poisonedFrame(body, jobId);
      if (behaviour.kind !== 'label-flip') counts.fedAvgUploads++;
      return remember(await noteRefusal(await base(href, { ...init, body: sent.slice().buffer })), jobId);
    }
    if (method === 'POST' && body !== null && (match = CHECKPOINT_UPLOAD.exec(path)) !== null) {
      const sent = poisonedFrame(body, decodeURIComponent(match[1] as string));
      if (behaviour.kind !== 'label-flip') counts.checkpointUploads++;
      return noteRefusal(await base(href, { ...init, body: sent.slice().buffer }));
    }
    const response = await base(input, init);
    if (method !== 'GET') return response;
    if ((match = PARAMETERS.exec(path)) !== null)
      return remember(response, decodeURIComponent(match[1] as string));
    if (behaviour.kind !== 'label-flip' || !response.ok) return response;
    if ((match = DATASET.exec(path)) !== null) {
      const text = await response.text();
      try {
        const reply = parseReply('GET /api/datasets/:id', JSON.parse(text) as unknown);
        if (reply.ok) classes.set(decodeURIComponent(match[1] as string), reply.value.dataset.numClasses);
      } catch {
        // not JSON: the volunteer's own parser reports it
      }
      return withBody(response, new TextEncoder().encode(text));
    }
    if ((match = SAMPLES.exec(path)) !== null && url.searchParams.get('split') === 'train') {
      const count = classes.get(decodeURIComponent(match[1] as string));
      const bytes = new Uint8Array(await response.arrayBuffer());
      const flipped = count === undefined ? null : flipShardLabels(bytes, count);
      if (flipped === null) return withBody(response, bytes);
      counts.shardsFlipped++;
      counts.labelsFlipped += flipped.flipped;
      return withBody(response, flipped.bytes);
    }
    return response;
  };

  return { behaviour, fetch: wrapped, counts: () => ({ ...counts, refused: { ...refused } }) };
}
