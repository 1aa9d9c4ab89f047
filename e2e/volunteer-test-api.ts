// Brings the volunteer page's `window.tabswarmTest` declaration into the e2e type check.
import type {} from '../apps/volunteer/src/test-api-types.ts';
