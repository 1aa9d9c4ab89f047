/**
 * A volunteer simulated in Node: a real socket.io client that joins, leases shards and "computes"
 * them instantly, and answers checkpoint requests by uploading the job's latest parameters
 * (optionally changed by a hook). Used by tests, the crash test and swarm simulations that would
 * not fit in browsers.
 */
import { io, type Socket } from 'socket.io-client';
import {
  decodeFrame,
  encodeFp32Frame,
  frameValues,
  NAMESPACES,
  PROTOCOL_VERSION,
  type Capabilities,
  type CheckpointRequest,
  type JoinAccepted,
  type LeaseGrantInfo,
  type Reply,
  type VolunteerClientToServer,
  type VolunteerServerToClient,
} from '@tabswarm/protocol';

export interface SimVolunteerOptions {
  /** Changes what is uploaded for a checkpoint; the default uploads the latest checkpoint unchanged. */
  readonly parameters?: (latest: Float32Array) => Float32Array;
  /** Answer checkpoint requests at all (false simulates a volunteer that never uploads). */
  readonly answerCheckpoints?: boolean;
}

export interface UploadResult {
  readonly status: number;
  readonly body: unknown;
}

const capabilities: Capabilities = {
  backend: 'cpu',
  adapter: null,
  fallbackReason: 'simulated volunteer',
  userAgent: 'tabswarm-sim',
};

export class SimVolunteer {
  readonly socket: Socket<VolunteerServerToClient, VolunteerClientToServer>;
  nodeId = '';
  readonly uploads: Promise<UploadResult>[] = [];
  readonly cancelled: string[] = [];

  constructor(
    private readonly url: string,
    private readonly options: SimVolunteerOptions = {},
  ) {
    this.socket = io(`${url}${NAMESPACES.volunteer}`, {
      transports: ['websocket'],
      auth: { protocolVersion: PROTOCOL_VERSION },
      reconnection: false,
      forceNew: true,
    });
    this.socket.on('checkpointRequest', (request) => {
      if (this.options.answerCheckpoints === false) return;
      this.uploads.push(this.answer(request));
    });
    this.socket.on('leaseCancelled', ({ leaseId }) => this.cancelled.push(leaseId));
  }

  /** Joins as a new node, or resumes one (its id and secret from an earlier join's answer). */
  async join(resume?: { nodeId: string; secret: string }): Promise<JoinAccepted> {
    const reply = await this.call<JoinAccepted>('join', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities,
      ...(resume !== undefined && { resume }),
    });
    this.nodeId = reply.nodeId;
    return reply;
  }

  async lease(samplesPerSec?: number): Promise<LeaseGrantInfo | null> {
    const reply = await this.call<{ lease: LeaseGrantInfo | null }>(
      'requestLease',
      samplesPerSec === undefined ? {} : { samplesPerSec },
    );
    return reply.lease;
  }

  /** Reports a lease done at once, as if the shard had been trained. */
  async complete(lease: LeaseGrantInfo, loss = 1): Promise<{ counted: boolean; duplicate: boolean }> {
    return this.call('completeLease', {
      leaseId: lease.leaseId,
      loss,
      samples: lease.end - lease.start,
      durationMs: 1,
    });
  }

  /** Leases and completes until there is no work; returns how many shards it completed. */
  async workUntilDry(limit = 10_000): Promise<number> {
    let n = 0;
    for (; n < limit; n++) {
      const lease = await this.lease(1000);
      if (!lease) break;
      await this.complete(lease);
    }
    return n;
  }

  async heartbeat(): Promise<void> {
    await this.call('heartbeat', { state: 'working', uptimeS: 1 });
  }

  close(): void {
    this.socket.disconnect();
  }

  /** Never rejects: a failed upload (e.g. the coordinator died) is reported as status 0. */
  private async answer(request: CheckpointRequest): Promise<UploadResult> {
    try {
      return await this.upload(request);
    } catch (error) {
      return { status: 0, body: (error as Error).message };
    }
  }

  private async upload(request: CheckpointRequest): Promise<UploadResult> {
    const latest = await fetch(`${this.url}/api/jobs/${request.jobId}/parameters`);
    const decoded = decodeFrame(new Uint8Array(await latest.arrayBuffer()));
    if (!decoded.ok) throw new Error(`latest parameters do not decode: ${decoded.message}`);
    const values = (this.options.parameters ?? ((v) => v))(frameValues(decoded).slice());
    const frame = encodeFp32Frame({ jobId: request.jobId, senderId: this.nodeId, round: 0, values });
    const res = await fetch(`${this.url}${request.uploadUrl}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${request.token}`, 'content-type': 'application/octet-stream' },
      body: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) as ArrayBuffer,
    });
    return { status: res.status, body: (await res.json()) as unknown };
  }

  private async call<T extends object>(event: keyof VolunteerClientToServer, payload: object): Promise<T> {
    // The event maps type each event's payload; this helper sends whichever one it is given.
    const untyped = this.socket.timeout(10_000) as unknown as {
      emitWithAck(event: string, payload: object): Promise<Reply<T>>;
    };
    const reply = await untyped.emitWithAck(event, payload);
    if (!reply.ok) throw new Error(`${event}: ${reply.code} ${reply.message}`);
    return reply;
  }
}
