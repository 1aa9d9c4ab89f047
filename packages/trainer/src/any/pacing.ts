/** GPU duty-cycle pacing: after a step that took t ms, rest t·(1/d − 1) ms, so work is d of the time. */

export const DUTY_CYCLES = [0.25, 0.5, 1] as const;

export function clampDutyCycle(d: number): number {
  if (!Number.isFinite(d)) return 1;
  return Math.min(1, Math.max(0.05, d));
}

/** Milliseconds to rest after a step of `stepMs` at duty cycle `dutyCycle` (0 at 100 %). */
export function restAfterStep(stepMs: number, dutyCycle: number): number {
  const d = clampDutyCycle(dutyCycle);
  if (!Number.isFinite(stepMs) || stepMs <= 0 || d >= 1) return 0;
  return stepMs * (1 / d - 1);
}

/** Exponential moving average that starts at its first sample. */
export class MovingAverage {
  #value: number | null = null;
  constructor(readonly weight = 0.2) {}
  get value(): number | null {
    return this.#value;
  }
  add(sample: number): number {
    if (!Number.isFinite(sample)) return this.#value ?? 0;
    this.#value = this.#value === null ? sample : this.#value + this.weight * (sample - this.#value);
    return this.#value;
  }
  reset(): void {
    this.#value = null;
  }
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
