/**
 * The operator token: writes (jobs, uploads, controls) need it; reads do not. It is generated on
 * first start into the data directory (mode 0600) and printed once, unless configured.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { NextFunction, Request, Response } from 'express';

export const TOKEN_FILE = 'operator-token';

export interface OperatorToken {
  readonly token: string;
  /** True when this start created the token: main prints it once. */
  readonly created: boolean;
}

export function loadOperatorToken(dataDir: string, configured: string | undefined): OperatorToken {
  if (configured !== undefined) return { token: configured, created: false };
  const file = path.join(dataDir, TOKEN_FILE);
  if (fs.existsSync(file)) return { token: fs.readFileSync(file, 'utf8').trim(), created: false };
  fs.mkdirSync(dataDir, { recursive: true });
  const token = crypto.randomBytes(24).toString('base64url');
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return { token, created: true };
}

export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = crypto.createHash('sha256').update(expected).digest();
  const b = crypto.createHash('sha256').update(given).digest();
  return crypto.timingSafeEqual(a, b);
}

function bearer(req: Request): string | undefined {
  const header = req.get('authorization');
  const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

/** Express middleware for write routes: 401 without a token, 403 with a wrong one. */
export function requireOperator(token: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = bearer(req);
    if (given === undefined) {
      res.status(401).json({
        ok: false,
        code: 'UNAUTHORIZED',
        message: 'this request needs the operator token (Authorization: Bearer …)',
      });
      return;
    }
    if (!tokenMatches(token, given)) {
      res.status(403).json({ ok: false, code: 'FORBIDDEN', message: 'the operator token is wrong' });
      return;
    }
    next();
  };
}
