/**
 * How much CPU a page's main-thread tasks used, from a Chromium trace. PerformanceObserver's
 * 'longtask' entries are wall-clock: on a saturated 2-core machine the OS deschedules the page's
 * thread mid-task, and a task of 1 ms of work reads as 230 ms (measured here). The trace's thread
 * time (`tdur`) is the page's own work, whatever the machine's load.
 */
import fs from 'node:fs';
import type { Browser, Page } from '@playwright/test';

interface TraceEvent {
  readonly name: string;
  readonly ph: string;
  readonly pid: number;
  readonly tid: number;
  readonly ts: number;
  readonly dur?: number;
  readonly tdur?: number;
  readonly args?: { readonly name?: string };
}

/** A page's main-thread tasks over a traced span: their count, and the largest CPU and wall times. */
export interface MainThreadTasks {
  readonly tasks: number;
  readonly maxCpuMs: number;
  readonly maxWallMs: number;
  /** Tasks over 50 ms of wall time, and the most CPU any of them used. */
  readonly overFiftyWall: number;
  readonly maxCpuOfThoseMs: number;
}

/** The trace categories read: the scheduler's top-level tasks (with thread time) and performance.mark. */
export const TASK_CATEGORIES = ['toplevel', 'blink.user_timing'] as const;

/**
 * The marks a page sets (performance.mark) around the work measured: only the tasks that start
 * between them count — not the page's load before, nor the trace's own flush after (a 105 ms task
 * of the tracing IPC at the end, measured here).
 */
export const SPAN_START_MARK = 'tabswarm-span-start';
export const SPAN_END_MARK = 'tabswarm-span-end';

export async function traceMainThread<T>(
  browser: Browser,
  page: Page,
  file: string,
  during: () => Promise<T>,
): Promise<{ result: T; tasks: MainThreadTasks }> {
  await browser.startTracing(page, { path: file, categories: [...TASK_CATEGORIES] });
  let result: T;
  try {
    result = await during();
  } finally {
    await browser.stopTracing();
  }
  return { result, tasks: mainThreadTasks(file) };
}

/**
 * Reads the outermost tasks of every renderer main thread in the trace `file` that start between
 * the page's span marks. Throws when the trace has no such marks: a figure over nothing is no figure.
 */
export function mainThreadTasks(file: string): MainThreadTasks {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as { traceEvents: TraceEvent[] } | TraceEvent[];
  const events = Array.isArray(raw) ? raw : raw.traceEvents;
  const markAt = (name: string): number => {
    const mark = events.find((e) => e.name === name && e.ph !== 'M');
    if (mark === undefined) throw new Error(`${file}: no performance.mark('${name}') in the trace`);
    return mark.ts;
  };
  const [from, to] = [markAt(SPAN_START_MARK), markAt(SPAN_END_MARK)];
  const mains = new Set(
    events
      .filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
      .map((e) => `${e.pid}:${e.tid}`),
  );
  const runs = events
    .filter(
      (e) =>
        e.ph === 'X' &&
        e.name === 'ThreadControllerImpl::RunTask' &&
        e.dur !== undefined &&
        e.ts >= from &&
        e.ts <= to &&
        mains.has(`${e.pid}:${e.tid}`),
    )
    .sort((x, y) => x.ts - y.ts);
  // A task may run nested ones (a microtask checkpoint, a sync IPC): only the outermost count.
  const outer: TraceEvent[] = [];
  const endOf = new Map<string, number>();
  for (const e of runs) {
    const thread = `${e.pid}:${e.tid}`;
    if (e.ts < (endOf.get(thread) ?? -1)) continue;
    outer.push(e);
    endOf.set(thread, e.ts + (e.dur ?? 0));
  }
  const ms = (us: number | undefined): number => (us ?? 0) / 1000;
  const long = outer.filter((e) => ms(e.dur) > 50);
  return {
    tasks: outer.filter((e) => e.tdur !== undefined).length,
    maxCpuMs: Math.max(0, ...outer.map((e) => ms(e.tdur))),
    maxWallMs: Math.max(0, ...outer.map((e) => ms(e.dur))),
    overFiftyWall: long.length,
    maxCpuOfThoseMs: Math.max(0, ...long.map((e) => ms(e.tdur))),
  };
}
