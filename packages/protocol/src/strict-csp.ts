/**
 * Imported first (`import '@tabswarm/protocol/strict-csp'`) by the code of pages served under a
 * Content-Security-Policy without 'unsafe-eval' (the volunteer page, its worker and the dashboard;
 * server/src/page-security.ts): zod otherwise probes `new Function` once, at its first parse, to
 * decide whether to compile its object parsers, and a strict CSP reports that caught probe as a
 * violation. Validation is the same either way; only that compiled fast path is skipped. A side
 * effect on import, because modules that parse while they load may run before any code of the
 * importer.
 */
import { z } from 'zod';

z.config({ jitless: true });
