/**
 * fast-check arbitraries for fuzzing the coordinator's inputs: values shaped by a zod schema (each
 * field of the right kind most of the time, the wrong kind or a hostile value otherwise), hostile
 * values (NaN, huge and negative numbers, long strings, deep nesting, prototype-pollution keys),
 * and arbitrary JSON. For the fuzz tests only.
 */
import fc from 'fast-check';
import type { z } from 'zod';

/** Values of a given key that reach past validation: real ids the test holds (a lease id, a job id). */
export type Hints = Readonly<Record<string, fc.Arbitrary<unknown>>>;

function nest(depth: number, inner: unknown, asArray: boolean): unknown {
  let value = inner;
  for (let i = 0; i < depth; i++) value = asArray ? [value] : { a: value };
  return value;
}

/** Objects whose own keys are `__proto__`, `constructor`, `prototype` and Object.prototype's methods. */
export const pollutionObjects: fc.Arbitrary<unknown> = fc.constantFrom(
  JSON.parse('{"__proto__":{"polluted":true}}') as unknown,
  JSON.parse('{"constructor":{"prototype":{"polluted":true}}}') as unknown,
  JSON.parse('{"__proto__":null,"toString":1,"valueOf":"x","hasOwnProperty":[]}') as unknown,
  JSON.parse('{"prototype":{"polluted":true},"__defineGetter__":0}') as unknown,
);

/** Hostile values of every JSON kind. */
export const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -1,
    -0,
    0.5,
    2 ** 31,
    2 ** 32,
    2 ** 53 + 2,
    -(2 ** 53) - 2,
    1e308,
    -1e308,
    Number.MIN_VALUE,
    '',
    ' ',
    '\u0000',
    '%zz',
    '../../etc/passwd',
    'NaN',
    '1e400',
    '__proto__',
    'constructor',
    null,
    true,
    false,
    [],
    {},
  ),
  fc.constantFrom('x'.repeat(70_000), 'é'.repeat(5_000), '\uD800'.repeat(100)),
  fc
    .tuple(fc.constantFrom(100, 1_000, 3_000), fc.boolean())
    .map(([depth, asArray]) => nest(depth, 1, asArray)),
  pollutionObjects,
  fc.array(fc.constant(0), { minLength: 10_000, maxLength: 10_000 }),
);

/** Arbitrary JSON, hostile values among it. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: hostile },
);

type Def = {
  readonly type: string;
  readonly [key: string]: unknown;
};
type Check = { readonly check?: string; readonly [key: string]: unknown };

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;
const checksOf = (def: Def): Check[] =>
  ((def.checks as { _zod: { def: Check } }[] | undefined) ?? []).map((c) => c._zod.def);

function stringOf(def: Def, clean: boolean): fc.Arbitrary<string> {
  const checks = checksOf(def);
  const pattern = checks.find((c) => c.check === 'string_format' && c.pattern instanceof RegExp)?.pattern;
  const min = Number(checks.find((c) => c.check === 'min_length')?.minimum ?? 0);
  const max = Number(checks.find((c) => c.check === 'max_length')?.maximum ?? 64);
  const shaped =
    pattern instanceof RegExp
      ? fc.stringMatching(pattern)
      : fc.string({ minLength: min, maxLength: Math.min(max, min + 40) });
  return clean ? shaped : fc.oneof({ weight: 4, arbitrary: shaped }, fc.string({ maxLength: max + 2 }));
}

function numberOf(def: Def, clean: boolean): fc.Arbitrary<number> {
  const checks = checksOf(def);
  const integer = checks.some((c) => c.check === 'number_format' && String(c.format).includes('int'));
  const low = Number(checks.find((c) => c.check === 'greater_than')?.value ?? -1e6);
  const high = Number(checks.find((c) => c.check === 'less_than')?.value ?? 1e6);
  const lo = Math.max(low, -1e9);
  const hi = Math.max(lo, Math.min(high, 1e9));
  const inRange = integer
    ? fc.integer({ min: Math.ceil(lo), max: Math.max(Math.ceil(lo), Math.floor(hi)) })
    : fc.double({ min: lo, max: hi, noNaN: true });
  if (clean) return inRange;
  return fc.oneof(
    { weight: 4, arbitrary: inRange },
    fc.constantFrom(lo, hi, lo - 1, hi + 1, hi * 2 + 1),
    fc.double(),
    fc.integer(),
  );
}

/**
 * Values shaped by `schema`: every node is the kind the schema asks for (within its bounds, ids
 * matching their pattern, `hints` used for keys the test knows real values of) most of the time;
 * otherwise a hostile value or arbitrary JSON in its place. Objects sometimes lose a key or gain a
 * foreign or prototype-pollution key.
 */
export function shapedBy(
  schema: z.ZodType,
  hints: Hints = {},
  clean = false,
  depth = 0,
): fc.Arbitrary<unknown> {
  const right = rightShape(schema, hints, clean, depth);
  if (clean) return right;
  const wrong = fc.oneof(hostile, fc.jsonValue({ maxDepth: 2 }));
  return fc.oneof({ weight: 12, arbitrary: right }, { weight: 1, arbitrary: wrong });
}

function rightShape(schema: z.ZodType, hints: Hints, clean: boolean, depth: number): fc.Arbitrary<unknown> {
  const def = defOf(schema);
  const inner = (s: unknown): fc.Arbitrary<unknown> =>
    depth > 6 ? fc.jsonValue({ maxDepth: 1 }) : shapedBy(s as z.ZodType, hints, clean, depth + 1);
  switch (def.type) {
    case 'string':
      return stringOf(def, clean);
    case 'number':
    case 'int':
      return numberOf(def, clean);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'undefined':
      return fc.constant(undefined);
    case 'literal':
      return fc.constantFrom(...(def.values as unknown[]));
    case 'enum':
      return fc.constantFrom(...Object.values(def.entries as Record<string, unknown>));
    case 'optional':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return fc.oneof(inner(def.innerType), fc.constant(undefined));
    case 'nullable':
      return fc.oneof(inner(def.innerType), fc.constant(null));
    case 'pipe':
      return inner(def.in);
    case 'lazy':
      return depth > 3 ? fc.jsonValue({ maxDepth: 1 }) : inner((def.getter as () => z.ZodType)());
    case 'array': {
      const max = Number(checksOf(def).find((c) => c.check === 'max_length')?.maximum ?? 4);
      if (clean) return fc.array(inner(def.element), { maxLength: Math.min(max, 4) });
      return fc.oneof(
        { weight: 4, arbitrary: fc.array(inner(def.element), { maxLength: Math.min(max, 4) }) },
        fc.array(inner(def.element), { minLength: max + 1, maxLength: max + 1 }),
      );
    }
    case 'tuple':
      return fc.tuple(...(def.items as z.ZodType[]).map(inner));
    case 'union':
      return fc.oneof(...(def.options as z.ZodType[]).map(inner));
    case 'intersection':
      return fc
        .tuple(inner(def.left), inner(def.right))
        .map(([a, b]) => (isRecord(a) && isRecord(b) ? { ...a, ...b } : a));
    case 'record':
      return fc.dictionary(
        rightShape(def.keyType as z.ZodType, hints, true, depth + 1).map(String),
        inner(def.valueType),
        { maxKeys: 4 },
      );
    case 'object': {
      const shape = def.shape as Record<string, z.ZodType>;
      const fields = Object.fromEntries(
        Object.entries(shape).map(([key, value]) => [
          key,
          hints[key] ? fc.oneof({ weight: 3, arbitrary: hints[key] }, inner(value)) : inner(value),
        ]),
      );
      if (clean) {
        return fc.record(fields).map((record) => {
          const out: Record<string, unknown> = { ...record };
          for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
          return out;
        });
      }
      return fc
        .tuple(
          fc.record(fields),
          fc.option(fc.constantFrom(...Object.keys(shape), 'extra'), { freq: 8 }),
          fc.option(pollutionObjects, { freq: 8 }),
        )
        .map(([record, drop, pollute]) => {
          const out: Record<string, unknown> = { ...record };
          for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
          if (drop === 'extra') out.extra = 1;
          else if (drop !== null) delete out[drop];
          if (pollute !== null) {
            // Own keys, as JSON.parse makes them: assigning `__proto__` would set the prototype instead.
            for (const key of Object.keys(pollute as object)) {
              Object.defineProperty(out, key, {
                value: (pollute as Record<string, unknown>)[key],
                enumerable: true,
                configurable: true,
                writable: true,
              });
            }
          }
          return out;
        });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Payloads for an event or a body: valid by its schema's shape (so the handler behind validation
 * runs), shaped by it with wrong kinds and hostile values mixed in, or any JSON at all.
 */
export function payloadFor(schema: z.ZodType, hints: Hints = {}): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 2, arbitrary: shapedBy(schema, hints, true) },
    { weight: 3, arbitrary: shapedBy(schema, hints) },
    { weight: 1, arbitrary: anyJson },
  );
}
