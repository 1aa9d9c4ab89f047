/**
 * Shards on the coordinator's side: the format and the decoder live in @tabswarm/protocol (the
 * trainer decodes them); this module allocates them in Node Buffers for the registry to fill.
 */
import { shardBytes, writeShardHeader, type ShardHeader } from '@tabswarm/protocol';

export {
  decodeShard,
  SHARD_HEADER_BYTES,
  SHARD_MAGIC,
  SHARD_VERSION,
  shardBytes,
  type DecodedShard,
  type ShardHeader,
} from '@tabswarm/protocol';

/** Allocates a shard with its header written; returns it and where x and y go. */
export function allocateShard(h: ShardHeader): { shard: Buffer; xOffset: number; yOffset: number } {
  const shard = Buffer.alloc(shardBytes(h));
  return { shard, ...writeShardHeader(shard, h) };
}
