// A compute thread's first module: TypeScript through tsx (registered in this thread), then the
// entry (compute-thread-entry.ts).
import { register } from 'tsx/esm/api';

register();
await import('./compute-thread-entry.ts');
