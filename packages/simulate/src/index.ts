/** The simulation harness's public surface: what `npm run simulate` and the e2e scenarios share. */
export type * from './record.ts';
export type * from './plan.ts';
