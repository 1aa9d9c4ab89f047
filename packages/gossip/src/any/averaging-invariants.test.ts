// The averaging invariants on the TypeScript references (the fallback backends' path); the same
// tests run on the WGSL kernels in averaging-invariants.browser.test.ts.
import { averagingInvariants } from './averaging-invariants.ts';
import { referenceKernels } from './kernel-library.ts';

averagingInvariants('the TypeScript references', referenceKernels);
