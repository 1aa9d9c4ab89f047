/** A select over a fixed list of choices, typed by their values (strings or numbers), not by the DOM's strings. */
import type { SelectHTMLAttributes } from 'react';

export interface Choice<V extends string | number> {
  readonly value: V;
  readonly label: string;
}

type Props<V extends string | number> = Omit<
  SelectHTMLAttributes<HTMLSelectElement>,
  'value' | 'onChange'
> & {
  readonly options: readonly Choice<V>[];
  readonly value: V;
  readonly onChange: (value: V) => void;
};

export function Select<V extends string | number>({ options, value, onChange, ...rest }: Props<V>) {
  return (
    <select
      {...rest}
      value={value}
      onChange={(e) => {
        const picked = options.find((o) => String(o.value) === e.target.value);
        if (picked !== undefined) onChange(picked.value);
      }}
    >
      {options.map((o) => (
        <option key={o.value} value={o.value}>
          {o.label}
        </option>
      ))}
    </select>
  );
}
