import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startJwksServer, type RunningJwksServer } from '../../../../src/cli/kubelet-sim/jwks-server.js';
import { defaultServiceAccountUid, ServiceAccountTokenIssuer } from '../../../../src/cli/kubelet-sim/token-issuer.js';
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

  const newTokens = () =>
    new GoogleTokens(
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
  /** A pod's token as the kubelet layer hands it over (kubelet/token-claims.ts reads the uid claim). */
  const podToken = async (tokens: GoogleTokens, pod: PodIdentity, serviceAccountUid: string): Promise<ServiceAccountToken> => {
    const audience = tokens.settings.tokenAudience;
    const minted = await issuer.mint({ ...pod, audience, serviceAccountUid });
    return { audience, token: minted.token, expiresAt: new Date(minted.expirationTimestamp), serviceAccountUid };
  };
  const signal = () => new AbortController().signal;

  test("one caller giving up does not abandon the exchange the others share: they get the token, and it is cached", async () => {
    const tokens = newTokens();
    const identity: PodIdentity = { namespace: 'demo', podName: 'p', podUid: 'u', serviceAccountName: 'app' };
    const jwt = await podToken(tokens, identity, defaultServiceAccountUid('demo', 'app'));
    google.resetObservations();

    const first = new AbortController();
    const abandoned = tokens.get(identity, jwt, undefined, Date.now(), first.signal);
    const waiting = tokens.get(identity, jwt, undefined, Date.now(), signal());
    first.abort(new Error('the first volume timed out'));
    await assert.rejects(abandoned, /the first volume timed out/);
    const token = await waiting;
    assert.match(token.token, /^ya29\./);
    assert.deepEqual(google.requests.map((r) => `${r.kind} ${r.status}`), ['sts 200'], 'one exchange, completed');
    assert.equal((await tokens.get(identity, jwt, undefined, Date.now(), signal())).token, token.token, 'and remembered');
    assert.equal(tokens.exchanges, 1);
  });

  test('pods of one service account share its token; an account created again under the same name (another uid) does not', async () => {
    const tokens = newTokens();
    const first = { namespace: 'demo', podName: 'a', podUid: 'pod-a', serviceAccountName: 'app' };
    const second = { ...first, podName: 'b', podUid: 'pod-b' };
    const recreated = { ...first, podName: 'c', podUid: 'pod-c' };
    const uid = '5b0f3f9e-8f0a-4a52-9d3e-0c6f3b1a2d11';
    const a = await tokens.get(first, await podToken(tokens, first, uid), undefined, Date.now(), signal());
    const b = await tokens.get(second, await podToken(tokens, second, uid), undefined, Date.now(), signal());
    assert.equal(b.token, a.token, 'the same account: one token');
    assert.equal(tokens.exchanges, 1);
    const c = await tokens.get(recreated, await podToken(tokens, recreated, 'e7c1d2a4-6b3f-4c8e-a1d0-9f2b7c5e4a33'), undefined, Date.now(), signal());
    assert.notEqual(c.token, a.token, "the old account's token is not handed to the new one");
    assert.equal(tokens.exchanges, 2);
  });
});
