// The evaluation thread's first module: TypeScript through tsx (registered in this thread), then
// the entry (evaluation-thread-entry.ts).
import { register } from 'tsx/esm/api';

register();
await import('./evaluation-thread-entry.ts');
