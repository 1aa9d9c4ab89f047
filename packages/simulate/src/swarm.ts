/**
 * Browsers and virtual volunteers as one swarm of labelled volunteers: what the fault executor
 * kills, starts, takes offline, partitions and slows down, whichever kind a label is.
 */
import type { BrowserSwarm } from './browser-swarm.ts';
import type { VolunteerKind } from './record.ts';
import { isAlive, type VirtualFleet, type VirtualNodeSnapshot } from './virtual-swarm.ts';

export class Swarm {
  readonly browsers: BrowserSwarm | null;
  readonly fleet: VirtualFleet | null;
  #partitioned: { a: string[]; b: string[] } | null = null;
  /** The fleet's latest snapshot (refresh() reads a new one). */
  #members: readonly VirtualNodeSnapshot[] = [];

  constructor(browsers: BrowserSwarm | null, fleet: VirtualFleet | null) {
    this.browsers = browsers;
    this.fleet = fleet;
  }

  get members(): readonly VirtualNodeSnapshot[] {
    return this.#members;
  }

  /** Reads the fleet's snapshot (its volunteers live in child processes). */
  async refresh(): Promise<void> {
    if (this.fleet !== null) this.#members = await this.fleet.snapshot();
  }

  kindOf(label: string): VolunteerKind {
    return this.browsers?.volunteers.some((v) => v.label === label) === true ? 'browser' : 'virtual';
  }

  /** Labels of the live volunteers, browsers first. */
  alive(): string[] {
    return [
      ...(this.browsers?.alive.map((v) => v.label) ?? []),
      ...this.#members.filter(isAlive).map((m) => m.label),
    ];
  }

  counts(): { browsers: number; virtual: number } {
    return {
      browsers: this.browsers?.alive.length ?? 0,
      virtual: this.#members.filter(isAlive).length,
    };
  }

  /** Every node id a label joined as. */
  nodeIds(labels: readonly string[]): string[] {
    const ids: string[] = [];
    for (const label of labels) {
      const browser = this.browsers?.volunteers.find((v) => v.label === label);
      if (browser !== undefined) ids.push(...browser.nodeIds);
      const member = this.#members.find((m) => m.label === label);
      if (member?.nodeId) ids.push(member.nodeId);
    }
    return ids;
  }

  async kill(labels: readonly string[]): Promise<void> {
    const { browser, virtual } = this.#split(labels);
    await Promise.all([
      ...this.#onBrowsers(browser, (b, l) => b.kill(l)),
      ...(virtual.length > 0 && this.fleet !== null ? [this.fleet.kill(virtual)] : []),
    ]);
  }

  /** Starts `count` volunteers of the kind the swarm has most of (browsers on a tie); their labels. */
  async join(count: number): Promise<string[]> {
    const { browsers, virtual } = this.counts();
    if (this.browsers !== null && (this.fleet === null || browsers >= virtual)) {
      const swarm = this.browsers;
      const added = await Promise.all(Array.from({ length: count }, () => swarm.add()));
      return added.map((v) => v.label);
    }
    if (this.fleet === null) throw new Error('no volunteers of any kind to join');
    const labels = [...(await this.fleet.add(count))];
    await this.refresh();
    return labels;
  }

  async setOffline(labels: readonly string[], offline: boolean): Promise<void> {
    const { browser, virtual } = this.#split(labels);
    await Promise.all([
      ...this.#onBrowsers(browser, (b, l) => b.setOffline(l, offline)),
      ...(virtual.length > 0 && this.fleet !== null ? [this.fleet.setOffline(virtual, offline)] : []),
    ]);
  }

  async slowdown(labels: readonly string[], slowdown: number): Promise<void> {
    const { browser, virtual } = this.#split(labels);
    await Promise.all([
      ...this.#onBrowsers(browser, (b, l) => b.throttle(l, slowdown)),
      ...(virtual.length > 0 && this.fleet !== null ? [this.fleet.setSlowdown(virtual, slowdown)] : []),
    ]);
  }

  /** No peer traffic between group a and group b (relay included) until `heal`. */
  async partition(a: readonly string[], b: readonly string[]): Promise<void> {
    this.#partitioned = { a: [...a], b: [...b] };
    await this.#applyBlocks(a, b);
    // The fleet's side: its own labels, and the browsers of the other group by node id.
    const side = (group: readonly string[]): string[] => [
      ...this.#split(group).virtual,
      ...this.nodeIds(this.#split(group).browser),
    ];
    if (this.fleet !== null && (this.#split(a).virtual.length > 0 || this.#split(b).virtual.length > 0))
      await this.fleet.partition([side(a), side(b)]);
  }

  async heal(): Promise<void> {
    const partitioned = this.#partitioned;
    this.#partitioned = null;
    if (partitioned === null) return;
    const { browser } = this.#split([...partitioned.a, ...partitioned.b]);
    await Promise.all(this.#onBrowsers(browser, (b, l) => b.blockPeers(l, []).catch(() => undefined)));
    await this.fleet?.partition(null);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.browsers?.stop(), this.fleet?.stop()]);
  }

  async #applyBlocks(a: readonly string[], b: readonly string[]): Promise<void> {
    const idsA = this.nodeIds(a);
    const idsB = this.nodeIds(b);
    await Promise.all([
      ...this.#onBrowsers(this.#split(a).browser, (s, l) => s.blockPeers(l, idsB)),
      ...this.#onBrowsers(this.#split(b).browser, (s, l) => s.blockPeers(l, idsA)),
    ]);
  }

  #onBrowsers(
    labels: readonly string[],
    act: (swarm: BrowserSwarm, label: string) => Promise<void>,
  ): Promise<void>[] {
    const swarm = this.browsers;
    return swarm === null ? [] : labels.map((l) => act(swarm, l));
  }

  #split(labels: readonly string[]): { browser: string[]; virtual: string[] } {
    const browser = labels.filter((l) => this.kindOf(l) === 'browser');
    return { browser, virtual: labels.filter((l) => !browser.includes(l)) };
  }
}
