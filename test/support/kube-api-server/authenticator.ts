/**
 * The API server's service-account token authenticator, as far as a CertificateRequest client
 * meets it (kube-apiserver pkg/serviceaccount): RS256 signature against the issuer's JWKS, `iss`,
 * `aud` containing one of --api-audiences (default: the issuer), `exp`/`nbf` with the server's
 * clock, and the user name from `sub` (`system:serviceaccount:<ns>:<sa>`).
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';

export interface AuthenticatedUser {
  readonly username: string;
  readonly namespace: string;
  readonly serviceAccountName: string;
  readonly podName: string | undefined;
  readonly audiences: readonly string[];
}

export class TokenAuthenticator {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    jwksUrl: string,
    private readonly issuer: string,
    private readonly apiAudiences: readonly string[],
    private readonly now: () => number,
  ) {
    this.jwks = createRemoteJWKSet(new URL(jwksUrl));
  }

  /** The user, or the reason the token is refused (the server answers 401 without saying why). */
  async authenticate(authorization: string | undefined): Promise<AuthenticatedUser | { refused: string }> {
    const match = /^Bearer (\S+)$/.exec(authorization ?? '');
    if (match === null) return { refused: 'no bearer token' };
    try {
      const { payload } = await jwtVerify(match[1] as string, this.jwks, {
        issuer: this.issuer,
        audience: [...this.apiAudiences],
        algorithms: ['RS256'],
        currentDate: new Date(this.now()),
        clockTolerance: 0,
      });
      const sub = typeof payload.sub === 'string' ? payload.sub : '';
      const parts = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(sub);
      if (parts === null) return { refused: `sub ${JSON.stringify(sub)} is not a service account` };
      const k8s = payload['kubernetes.io'] as { pod?: { name?: string } } | undefined;
      return {
        username: sub,
        namespace: parts[1] as string,
        serviceAccountName: parts[2] as string,
        podName: k8s?.pod?.name,
        audiences: Array.isArray(payload.aud) ? payload.aud : [payload.aud ?? ''],
      };
    } catch (error) {
      return { refused: error instanceof Error ? error.message : String(error) };
    }
  }
}
