/**
 * Volunteer session tokens: what a volunteer presents where its socket.io connection does not
 * vouch for it — PeerJS registration and its HTTP uploads. A token names the node, the session
 * (one per join or resume) and an expiry, and is signed with the coordinator's key (HMAC-SHA256):
 *
 *   <nodeId>.<sessionId>.<expiresAt, base 36>.<signature, base64url>
 *
 * Only the signature is secret-derived; the rest is readable by design, so a refusal can say why
 * (expired, for another node, from an ended session). Sessions live in memory only: a restarted
 * coordinator knows no session until each volunteer resumes, exactly as it knows no connection, so
 * its key is drawn afresh at start and the tokens of the previous process stop working with it.
 */
import crypto from 'node:crypto';

/** How long a token is good for unless the coordinator is configured otherwise. */
export const DEFAULT_SESSION_TTL_MS = 60 * 60_000;

const TOKEN = /^(v[0-9a-f]{16})\.([0-9a-f]{16})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{43})$/;

export interface SessionClaims {
  readonly nodeId: string;
  readonly sessionId: string;
  readonly expiresAt: number;
}

export type SessionTokenVerdict =
  | ({ readonly ok: true } & SessionClaims)
  | {
      readonly ok: false;
      /** UNAUTHORIZED: expired, get a fresh one; FORBIDDEN: not this coordinator's, or not yours. */
      readonly code: 'UNAUTHORIZED' | 'FORBIDDEN';
      readonly message: string;
    };

export class SessionTokens {
  readonly #key: Buffer;

  constructor(
    readonly ttlMs: number = DEFAULT_SESSION_TTL_MS,
    private readonly now: () => number = Date.now,
    key: Buffer = crypto.randomBytes(32),
  ) {
    if (!(ttlMs > 0)) throw new RangeError('session token lifetime must be positive');
    this.#key = key;
  }

  /** A new session id: tokens of earlier sessions of the same node stop counting. */
  static newSessionId(): string {
    return crypto.randomBytes(8).toString('hex');
  }

  issue(nodeId: string, sessionId: string): { token: string; expiresAt: number } {
    const expiresAt = this.now() + this.ttlMs;
    const body = `${nodeId}.${sessionId}.${expiresAt.toString(36)}`;
    return { token: `${body}.${this.#sign(body)}`, expiresAt };
  }

  /** Whether a token expiring then is past half its life: the holder's next heartbeat renews it. */
  dueForRenewal(expiresAt: number): boolean {
    return expiresAt - this.now() < this.ttlMs / 2;
  }

  /**
   * Checks the signature, the expiry and that it names `claimedNodeId`; which session is current
   * is the caller's to check (membership knows it).
   */
  verify(token: string, claimedNodeId: string): SessionTokenVerdict {
    const m = TOKEN.exec(token);
    if (m === null) return { ok: false, code: 'FORBIDDEN', message: 'not a session token' };
    const [, nodeId = '', sessionId = '', expires = '', signature = ''] = m;
    const expected = Buffer.from(this.#sign(`${nodeId}.${sessionId}.${expires}`));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) {
      return { ok: false, code: 'FORBIDDEN', message: 'the session token is not signed by this coordinator' };
    }
    if (nodeId !== claimedNodeId) {
      return { ok: false, code: 'FORBIDDEN', message: 'the session token belongs to another volunteer' };
    }
    const expiresAt = parseInt(expires, 36);
    if (this.now() >= expiresAt) {
      return {
        ok: false,
        code: 'UNAUTHORIZED',
        message: 'the session token expired: heartbeats renew it, a rejoin gets a new one',
      };
    }
    return { ok: true, nodeId, sessionId, expiresAt };
  }

  #sign(body: string): string {
    return crypto.createHmac('sha256', this.#key).update(body).digest('base64url');
  }
}
