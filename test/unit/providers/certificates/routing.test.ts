import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseProviderName } from '../../../../src/kubelet/index.js';

describe('routing: csi-driver volumes name no provider', () => {
  test('csi.cert-manager.io/* attributes without provider: go to the certificates provider', () => {
    assert.equal(parseProviderName({ 'csi.cert-manager.io/issuer-name': 'ca', 'csi.storage.k8s.io/pod.name': 'p' }, 'embedded'), 'certificates');
  });
  test('an explicit provider still wins, and other volumes keep the default', () => {
    assert.equal(parseProviderName({ provider: 'vault', 'csi.cert-manager.io/issuer-name': 'ca' }, 'embedded'), 'vault');
    assert.equal(parseProviderName({ objects: '[]', 'csi.storage.k8s.io/pod.name': 'p' }, 'embedded'), 'embedded');
  });
});
