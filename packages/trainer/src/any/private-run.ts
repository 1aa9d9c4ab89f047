/**
 * One shard under the job's `privacy` (core's privacy.ts): it trains from the model it starts with
 * and a fresh optimizer — the volunteer's optimizer state would carry earlier shards' samples into
 * this release — and the model it ends with is start + clip(end − start) + Gaussian noise, before
 * anything (averaging, uploads) reads it.
 */
import { privatizeUpdate, type PrivatizedUpdate } from '@tabswarm/core';
import type { PrivacySpec } from '@tabswarm/protocol';
import type { LocalTrainer } from './local-trainer.ts';
import { createOptimizer, type FlatOptimizer } from './optimizers.ts';

export class PrivateRun {
  private constructor(
    private readonly trainer: LocalTrainer,
    private readonly start: Float32Array,
    private readonly privacy: PrivacySpec,
    readonly optimizer: FlatOptimizer,
  ) {}

  static async begin(trainer: LocalTrainer, privacy: PrivacySpec): Promise<PrivateRun> {
    const start = await trainer.flat.read();
    return new PrivateRun(trainer, start, privacy, createOptimizer(trainer.spec.training, trainer.flat.size));
  }

  /** The model becomes the released one: start + the clipped, noised update. */
  async finish(): Promise<PrivatizedUpdate> {
    try {
      const released = privatizeUpdate(this.start, await this.trainer.flat.read(), this.privacy);
      this.trainer.flat.setValues(released.values);
      return released;
    } catch (error) {
      // A non-finite update: nothing is released, the shard fails.
      this.trainer.flat.setValues(this.start);
      throw error;
    } finally {
      this.optimizer.dispose();
    }
  }

  /** The shard failed or was cancelled: back to the model it started from, nothing released. */
  abort(): void {
    this.trainer.flat.setValues(this.start);
    this.optimizer.dispose();
  }
}
