/**
 * The parts of `npm run bench`, in the order they run. A new part is a folder under src/ with a
 * BenchPart, added to PARTS; PLANNED_PARTS keeps a place (and a line in --help) for the parts later
 * issues add: move an entry from PLANNED_PARTS to PARTS when its folder exists.
 */
import { backendsPart } from './backends/backends-part.ts';
import { commPart } from './comm/comm-part.ts';
import { coordinatorPart } from './coordinator/coordinator-part.ts';
import { kernelsPart } from './kernels/kernels-part.ts';
import type { BenchPart } from './part.ts';
import { trainingPart } from './training/index.ts';
import { transportPart } from './transport/transport-part.ts';

export const PARTS: readonly BenchPart[] = [
  trainingPart,
  kernelsPart,
  backendsPart,
  transportPart,
  coordinatorPart,
  commPart,
];

export interface PlannedPart {
  readonly name: string;
  readonly description: string;
}

export const PLANNED_PARTS: readonly PlannedPart[] = [];
