export * from './version.ts';
export * from './errors.ts';
export * from './schemas.ts';
export * from './events.ts';
export * from './frame.ts';
export { crc32, crc32Update } from './crc32.ts';
export * from './job-spec.ts';
export * from './model-presets.ts';
export * from './jobs.ts';
