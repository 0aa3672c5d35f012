import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startJwksServer, type RunningJwksServer } from '../../../../src/cli/kubelet-sim/jwks-server.js';
import { ServiceAccountTokenIssuer } from '../../../../src/cli/kubelet-sim/token-issuer.js';
import { exchangeSettings } from '../../../../src/providers/gcp/exchange-settings.js';
import { GoogleTokens } from '../../../../src/providers/gcp/google-tokens.js';
import type { PodIdentity, ServiceAccountToken } from '../../../../src/providers/provider.js';
import { GcpTestServer, type PoolProvider } from '../../../support/gcp-server/index.js';

const POOL: PoolProvider = { projectNumber: '123456789012', pool: 'pool', provider: 'cluster' };

/** GoogleTokens against the local STS (it verifies the pod token against the issuer's JWKS). */
describe('GoogleTokens', () => {
  let issuer: ServiceAccountTokenIssuer;
  let jwks: RunningJwksServer;
  let google: GcpTestServer;
  let provider: string;
  before(async () => {
    issuer = await ServiceAccountTokenIssuer.create();
    jwks = await startJwksServer(issuer);
    google = await GcpTestServer.start({ now: () => Date.now(), jwksUrl: jwks.jwksUri });
    provider = google.addPoolProvider(POOL);
  });
  after(async () => {
    await google.stop();
    await jwks.stop();
  });

  test("one caller giving up does not abandon the exchange the others share: they get the token, and it is cached", async () => {
    const tokens = new GoogleTokens(
      exchangeSettings({
        workloadIdentityProvider: provider,
        gkeCluster: '',
        audience: '',
        stsEndpoint: google.url,
        identityBindingEndpoint: '',
        gkeIdentityProviderBase: '',
        iamCredentialsEndpoint: google.url,
        tokenLifetimeSeconds: 3600,
      }),
    );
    const identity: PodIdentity = { namespace: 'demo', podName: 'p', podUid: 'u', serviceAccountName: 'app' };
    const audience = tokens.settings.tokenAudience;
    const minted = await issuer.mint({ namespace: 'demo', podName: 'p', podUid: 'u', serviceAccountName: 'app', audience });
    const jwt: ServiceAccountToken = { audience, token: minted.token, expiresAt: new Date(minted.expirationTimestamp) };
    google.resetObservations();

    const first = new AbortController();
    const abandoned = tokens.get(identity, jwt, undefined, Date.now(), first.signal);
    const waiting = tokens.get(identity, jwt, undefined, Date.now(), new AbortController().signal);
    first.abort(new Error('the first volume timed out'));
    await assert.rejects(abandoned, /the first volume timed out/);
    const token = await waiting;
    assert.match(token.token, /^ya29\./);
    assert.deepEqual(google.requests.map((r) => `${r.kind} ${r.status}`), ['sts 200'], 'one exchange, completed');
    assert.equal((await tokens.get(identity, jwt, undefined, Date.now(), new AbortController().signal)).token, token.token, 'and remembered');
    assert.equal(tokens.exchanges, 1);
  });
});
