/** Samples per second over a sliding window of counted completions, per job. */
export class ThroughputWindow {
  private readonly events = new Map<string, { at: number; samples: number }[]>();

  constructor(
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  record(jobId: string, samples: number): void {
    const list = this.events.get(jobId) ?? [];
    list.push({ at: this.now(), samples });
    this.events.set(jobId, list);
  }

  rate(jobId: string): number {
    const list = this.events.get(jobId);
    if (!list) return 0;
    const cutoff = this.now() - this.windowMs;
    while (list.length > 0 && (list[0]?.at ?? 0) < cutoff) list.shift();
    const samples = list.reduce((sum, e) => sum + e.samples, 0);
    return samples / (this.windowMs / 1000);
  }
}
