import type { ServerResponse } from 'node:http';
import type { JWTPayload } from 'jose';

/**
 * How the demo API speaks Continuous Access Evaluation and authentication contexts, as an
 * Entra-protected resource does: it sends a claims challenge only to clients whose token says
 * they handle one (`xms_cc` holds `cp1`); others get a plain refusal.
 *
 * - `revokeSeenTokens()`: a CAE event (password reset, user disabled...) — every token seen so
 *   far is refused with a challenge for a token issued after now (`nbf`), which a silent
 *   refresh can satisfy.
 * - `GET /step-up`: needs authentication context `c1` in `acrs` — only a new sign-in gives it.
 */
export const STEP_UP_CONTEXT = 'c1';

export interface ClaimsChallengeControls {
  revokeSeenTokens(): void;
  /** Every token is challenged, new ones too: a resource whose challenge cannot be met silently. */
  challengeEveryToken(on: boolean): void;
  /** Claims challenges sent, by kind. */
  readonly sent: { revoked: number; stepUp: number };
}

function capable(payload: JWTPayload): boolean {
  const cc = payload['xms_cc'];
  return Array.isArray(cc) && cc.includes('cp1');
}

function challenge(res: ServerResponse, claims: object): void {
  const encoded = Buffer.from(JSON.stringify(claims)).toString('base64');
  const body = JSON.stringify({ error: 'insufficient_claims' });
  res.writeHead(401, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'www-authenticate': `Bearer realm="demo-api", authorization_uri="https://login.example/authorize", error="insufficient_claims", claims="${encoded}"`,
  });
  res.end(body);
}

function refuse(res: ServerResponse, status: number, error: string): void {
  const body = JSON.stringify({ error });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'www-authenticate': `Bearer error="${error}"` });
  res.end(body);
}

export function createClaimsChallenges(): ClaimsChallengeControls & {
  /** Seen every authorized call; answers it (and returns true) when the token must be challenged. */
  intercept(payload: JWTPayload, path: string, res: ServerResponse): boolean;
} {
  const seen = new Set<string>();
  const revoked = new Set<string>();
  let revokedAt = 0;
  let everyToken = false;
  const sent = { revoked: 0, stepUp: 0 };
  return {
    sent,
    revokeSeenTokens() {
      for (const id of seen) revoked.add(id);
      revokedAt = Math.floor(Date.now() / 1000);
    },
    challengeEveryToken(on) {
      everyToken = on;
      revokedAt = Math.floor(Date.now() / 1000);
    },
    intercept(payload, path, res) {
      const id = typeof payload['uti'] === 'string' ? payload['uti'] : undefined;
      if (id) seen.add(id);
      if ((id && revoked.has(id)) || everyToken) {
        if (!capable(payload)) refuse(res, 401, 'invalid_token');
        else {
          sent.revoked += 1;
          challenge(res, { access_token: { nbf: { essential: true, value: String(revokedAt) } } });
        }
        return true;
      }
      if (path === '/step-up') {
        const acrs = Array.isArray(payload['acrs']) ? payload['acrs'] : [];
        if (acrs.includes(STEP_UP_CONTEXT)) return false;
        if (!capable(payload)) refuse(res, 403, 'insufficient_user_authentication');
        else {
          sent.stepUp += 1;
          challenge(res, { access_token: { acrs: { essential: true, value: STEP_UP_CONTEXT } } });
        }
        return true;
      }
      return false;
    },
  };
}
