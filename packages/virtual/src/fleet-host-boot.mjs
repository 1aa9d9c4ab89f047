// A fleet host process's first module: TypeScript through tsx (registered here), then the host
// (fleet-host.ts).
import { register } from 'tsx/esm/api';

register();
await import('./fleet-host.ts');
