// The page side of @tabswarm/ui in a real browser: components re-render from a store, useNow ticks,
// and the shared table and card render the markup both pages' tests and styles rely on.
import { createElement, type ReactNode } from 'react';
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createStore } from '../any/store.ts';
import { Card } from './Card.tsx';
import { DataTable } from './DataTable.tsx';
import { Select } from './Select.tsx';
import { useNow } from './use-now.ts';
import { useStoreState } from './use-store-state.ts';

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}
globalThis.IS_REACT_ACT_ENVIRONMENT = true;

let root: Root | null = null;
let host: HTMLElement | null = null;

afterEach(() => {
  act(() => root?.unmount());
  host?.remove();
  root = null;
  host = null;
  vi.useRealTimers();
});

function render(node: ReactNode): HTMLElement {
  host = document.createElement('div');
  document.body.append(host);
  const r = createRoot(host);
  root = r;
  act(() => r.render(node));
  return host;
}

describe('useStoreState', () => {
  it('re-renders with each new snapshot, and stops listening on unmount', () => {
    const store = createStore({ count: 0 });
    let renders = 0;
    function Counter() {
      renders += 1;
      const { count } = useStoreState(store);
      return createElement('span', null, `count ${count}`);
    }
    const el = render(createElement(Counter));
    expect(el.textContent).toBe('count 0');
    act(() => store.update({ count: 1 }));
    expect(el.textContent).toBe('count 1');
    act(() => store.update((s) => ({ count: s.count + 5 })));
    expect(el.textContent).toBe('count 6');
    const before = renders;
    act(() => root?.unmount());
    root = null;
    store.update({ count: 7 });
    expect(renders).toBe(before);
  });
});

describe('useNow', () => {
  it('reads the clock again every interval', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    function Clock() {
      return createElement('span', null, String(useNow(500)));
    }
    const el = render(createElement(Clock));
    expect(el.textContent).toBe('1000000');
    act(() => {
      vi.advanceTimersByTime(499);
    });
    expect(el.textContent).toBe('1000000');
    act(() => {
      vi.advanceTimersByTime(1);
    });
    expect(el.textContent).toBe('1000500');
    act(() => {
      vi.advanceTimersByTime(1000);
    });
    expect(el.textContent).toBe('1001500');
  });
});

describe('Card and DataTable', () => {
  it('label a section by its heading, put actions beside it, and give every column a header cell', () => {
    const el = render(
      createElement(
        Card,
        { title: 'Jobs', headingId: 'jobs-heading', actions: createElement('a', { href: '#x' }, 'New') },
        createElement(
          DataTable,
          {
            columns: [{ label: 'Job' }, { label: 'Shards', num: true, sort: 'ascending', title: 'done' }],
            testId: 'table',
            height: 'short',
          },
          createElement('tr', null, createElement('td', null, 'a'), createElement('td', null, '3')),
        ),
      ),
    );
    const section = el.querySelector('section.card');
    expect(section?.getAttribute('aria-labelledby')).toBe('jobs-heading');
    expect(el.querySelector('.card-header > h2#jobs-heading')?.textContent).toBe('Jobs');
    expect(el.querySelector('.card-header > a')?.textContent).toBe('New');
    expect(el.querySelector('.table-scroll.short > table.table')?.getAttribute('data-testid')).toBe('table');
    const headers = [...el.querySelectorAll('thead th')];
    expect(headers.map((th) => th.textContent)).toEqual(['Job', 'Shards']);
    expect(headers.map((th) => th.getAttribute('scope'))).toEqual(['col', 'col']);
    expect(headers[1]?.className).toBe('num');
    expect(headers[1]?.getAttribute('aria-sort')).toBe('ascending');
    expect(headers[0]?.hasAttribute('aria-sort')).toBe(false);
    expect(el.querySelectorAll('tbody tr')).toHaveLength(1);
  });

  it('without actions, the heading stands alone in the card', () => {
    const el = render(createElement(Card, { title: 'Status' }, 'body'));
    expect(el.querySelector('section.card > h2')?.textContent).toBe('Status');
    expect(el.querySelector('.card-header')).toBeNull();
    expect(el.querySelector('section.card')?.hasAttribute('aria-labelledby')).toBe(false);
  });
});

describe('Select', () => {
  it('hands back the chosen value with its own type, not the DOM string', () => {
    const picked: number[] = [];
    const options = [
      { value: 0.25, label: '25 %' },
      { value: 1, label: '100 %' },
    ];
    const el = render(
      createElement(Select<number>, {
        options,
        value: 1,
        onChange: (v: number) => picked.push(v),
        id: 'duty',
      }),
    );
    const select = el.querySelector<HTMLSelectElement>('select#duty');
    expect([...(select?.options ?? [])].map((o) => o.textContent)).toEqual(['25 %', '100 %']);
    expect(select?.value).toBe('1');
    act(() => {
      if (select) select.value = '0.25';
      select?.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(picked).toEqual([0.25]);
  });
});
