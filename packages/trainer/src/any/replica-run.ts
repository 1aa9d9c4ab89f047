/**
 * One replicated lease (validated work) on the compute: its replicas must be comparable, so it
 * trains from the checkpoint the lease names with a fresh optimizer, not from the volunteer's own
 * model and optimizer state; afterwards it reports the update's statistics (core's rule) and the
 * volunteer's own model takes the update (own + (end − start)), so the shard still trains it.
 */
import { updateStatistics, type UpdateStatistics } from '@tabswarm/core';
import { TrainerError } from './errors.ts';
import type { LocalTrainer } from './local-trainer.ts';
import { createOptimizer, type FlatOptimizer } from './optimizers.ts';

export class ReplicaRun {
  private constructor(
    private readonly trainer: LocalTrainer,
    private readonly own: Float32Array,
    private readonly start: Float32Array,
    private readonly seed: number,
    readonly optimizer: FlatOptimizer,
  ) {}

  /** Sets the checkpoint's parameters in place of the volunteer's (kept to come back to). */
  static async begin(
    trainer: LocalTrainer,
    replica: { readonly values: Float32Array; readonly seed: number },
  ): Promise<ReplicaRun> {
    const own = await trainer.flat.read();
    if (replica.values.length !== own.length) {
      throw new TrainerError(
        'PARAMETERS_INVALID',
        `the replica's checkpoint has ${replica.values.length} parameters, the model ${own.length}`,
      );
    }
    trainer.flat.setValues(replica.values);
    const optimizer = createOptimizer(trainer.spec.training, trainer.flat.size);
    return new ReplicaRun(trainer, own, replica.values, replica.seed, optimizer);
  }

  /** The update's statistics; the volunteer's model becomes its own plus the update. */
  async finish(): Promise<UpdateStatistics> {
    try {
      const end = await this.trainer.flat.read();
      const statistics = updateStatistics(this.start, end, this.seed);
      const merged = new Float32Array(this.own.length);
      for (let i = 0; i < merged.length; i++)
        merged[i] = (this.own[i] as number) + ((end[i] as number) - (this.start[i] as number));
      this.trainer.flat.setValues(merged);
      return statistics;
    } finally {
      this.optimizer.dispose();
    }
  }

  /** The shard failed or was cancelled: the volunteer's own model as it was. */
  abort(): void {
    this.trainer.flat.setValues(this.own);
    this.optimizer.dispose();
  }
}
