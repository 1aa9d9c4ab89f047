/**
 * A kernel's uniforms declared once: from one declaration come the WGSL `struct Params` that the
 * shader loader puts in front of the kernel, and the host-side writer that fills a uniform slot
 * with WGSL's uniform-buffer layout rules, so that no byte offset is ever written by hand.
 */

/** Every Params struct fits one slot of the per-device uniform buffer, bound with a dynamic offset. */
export const UNIFORM_SLOT_BYTES = 256;

export type UniformScalar = 'u32' | 'i32' | 'f32';

/**
 * `length` scalars, declared as array<vec4<T>, ceil(length / 4)>: arrays in uniform buffers need
 * a 16-byte element stride, so four scalars share each element (the shader reads w[k / 4][k % 4]).
 */
export interface UniformArray {
  readonly array: UniformScalar;
  readonly length: number;
}

export type UniformField = UniformScalar | UniformArray;

/** Field names (WGSL identifiers, as the shader writes them) to types, in struct order. */
export type UniformDeclaration = Readonly<Record<string, UniformField>>;

/** What the host writes: a number per scalar, up to `length` numbers per array (the rest are 0). */
export type UniformValues<D extends UniformDeclaration> = {
  readonly [K in keyof D]: D[K] extends UniformArray ? readonly number[] : number;
};

export interface UniformLayout<D extends UniformDeclaration> {
  readonly declaration: D;
  /** `struct Params { … }` as WGSL. */
  readonly wgsl: string;
  /** Size of the struct in the uniform address space. */
  readonly byteLength: number;
  /** Byte offset of each field, as WGSL lays it out. */
  readonly offsets: Readonly<Record<keyof D, number>>;
  /** Writes every field of `values` at `byteOffset` of `view` (little-endian, as WebGPU is). */
  write(view: DataView, byteOffset: number, values: UniformValues<D>): void;
}

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]*$/;
const U32_MAX = 0xffff_ffff;

export function defineUniforms<const D extends UniformDeclaration>(declaration: D): UniformLayout<D> {
  const fields = Object.entries(declaration);
  if (fields.length === 0) throw new RangeError('a Params struct needs at least one field');
  let end = 0;
  let align = 4;
  const placed = fields.map(([name, type]) => {
    if (!IDENTIFIER.test(name))
      throw new RangeError(`uniform field name ${JSON.stringify(name)} is not a WGSL identifier`);
    const isArray = typeof type !== 'string';
    if (isArray && !(Number.isSafeInteger(type.length) && type.length >= 1)) {
      throw new RangeError(`uniform array ${name} needs a positive length`);
    }
    // Scalars: size and alignment 4. Arrays of vec4: alignment 16, stride 16.
    const fieldAlign = isArray ? 16 : 4;
    const offset = Math.ceil(end / fieldAlign) * fieldAlign;
    const scalar = isArray ? type.array : type;
    const length = isArray ? type.length : 1;
    end = offset + (isArray ? Math.ceil(length / 4) * 16 : 4);
    align = Math.max(align, fieldAlign);
    const wgslType = isArray ? `array<vec4<${scalar}>, ${Math.ceil(length / 4)}>` : scalar;
    return { name, scalar, length, isArray, offset, wgslType };
  });
  const byteLength = Math.ceil(end / align) * align;
  if (byteLength > UNIFORM_SLOT_BYTES) {
    throw new RangeError(
      `Params of ${byteLength} bytes do not fit a ${UNIFORM_SLOT_BYTES}-byte uniform slot`,
    );
  }
  const wgsl = `struct Params {\n${placed.map((f) => `  ${f.name}: ${f.wgslType},\n`).join('')}}\n`;
  const offsets = Object.fromEntries(placed.map((f) => [f.name, f.offset])) as Record<keyof D, number>;

  const put = (view: DataView, at: number, scalar: UniformScalar, value: number, name: string) => {
    if (scalar === 'f32') view.setFloat32(at, value, true);
    else if (scalar === 'u32' && Number.isInteger(value) && value >= 0 && value <= U32_MAX) {
      view.setUint32(at, value, true);
    } else if (scalar === 'i32' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31) {
      view.setInt32(at, value, true);
    } else {
      throw new RangeError(`uniform ${name} is ${scalar}, got ${value}`);
    }
  };

  return {
    declaration,
    wgsl,
    byteLength,
    offsets,
    write(view, byteOffset, values) {
      const record = values as Readonly<Record<string, number | readonly number[]>>;
      for (const f of placed) {
        const value = record[f.name];
        if (!f.isArray) {
          if (typeof value !== 'number') throw new TypeError(`uniform ${f.name} needs a number`);
          put(view, byteOffset + f.offset, f.scalar, value, f.name);
          continue;
        }
        if (typeof value === 'number' || value === undefined || value.length > f.length) {
          throw new TypeError(`uniform ${f.name} needs at most ${f.length} numbers`);
        }
        // The lanes past `length` in the last vec4 are written too, so no stale value lingers there.
        for (let j = 0; j < Math.ceil(f.length / 4) * 4; j++) {
          put(view, byteOffset + f.offset + 4 * j, f.scalar, value[j] ?? 0, f.name);
        }
      }
    },
  };
}
