import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkPublishArguments, checkStatsArguments, checkUnpublishArguments } from '../../../src/csi/node-arguments.js';
import type { NodePublishVolumeRequestWire } from '../../../src/csi/wire-types.js';
import { CredmountError } from '../../../src/errors/credmount-error.js';

const TARGET = '/var/lib/kubelet/pods/uid-1/volumes/kubernetes.io~csi/creds/mount';

/** A publish request as the CSI server delivers it for a well-formed kubelet call. */
function publishRequest(overrides: Partial<NodePublishVolumeRequestWire> = {}): NodePublishVolumeRequestWire {
  return {
    volume_id: 'csi-abc',
    publish_context: {},
    staging_target_path: '',
    target_path: TARGET,
    volume_capability: {
      mount: { fs_type: '', mount_flags: [], volume_mount_group: '2000' },
      access_mode: { mode: 'SINGLE_NODE_WRITER' },
      access_type: 'mount',
    },
    readonly: true,
    secrets: { s: '1' },
    volume_context: { provider: 'embedded' },
    ...overrides,
  };
}

function capability(patch: Record<string, unknown>): NodePublishVolumeRequestWire['volume_capability'] {
  return { ...(publishRequest().volume_capability as object), ...patch } as NodePublishVolumeRequestWire['volume_capability'];
}

function mount(patch: Record<string, unknown>): NodePublishVolumeRequestWire['volume_capability'] {
  return capability({ mount: { fs_type: '', mount_flags: [], volume_mount_group: '', ...patch } });
}

/** An assert.throws validator for a refusal of `field`. */
function refusal(code: 'CM_FIELD_MISSING' | 'CM_FIELD_INVALID', field: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof CredmountError, `expected a CredmountError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.status, 'INVALID_ARGUMENT');
    assert.equal(error.field, field);
    assert.ok(error.message.includes(field), `message ${JSON.stringify(error.message)} names ${field}`);
    return true;
  };
}

const STRICT = { requireReadOnly: true };
const LAX = { requireReadOnly: false };

describe('checkPublishArguments', () => {
  test('a well-formed request becomes a KubeletPublishInput', () => {
    const input = checkPublishArguments(publishRequest(), STRICT);
    assert.deepEqual(input, {
      volumeId: 'csi-abc',
      targetPath: TARGET,
      readOnly: true,
      volumeMountGroup: '2000',
      secrets: { s: '1' },
      volumeContext: { provider: 'embedded' },
    });
  });

  const refusals: [name: string, request: NodePublishVolumeRequestWire, code: 'CM_FIELD_MISSING' | 'CM_FIELD_INVALID', field: string][] = [
    ['empty volume_id', publishRequest({ volume_id: '' }), 'CM_FIELD_MISSING', 'volume_id'],
    ['absent volume_id', publishRequest({ volume_id: undefined as unknown as string }), 'CM_FIELD_MISSING', 'volume_id'],
    ['empty target_path', publishRequest({ target_path: '' }), 'CM_FIELD_MISSING', 'target_path'],
    ['absent target_path', publishRequest({ target_path: undefined as unknown as string }), 'CM_FIELD_MISSING', 'target_path'],
    ['relative target_path', publishRequest({ target_path: 'pods/uid/mount' }), 'CM_FIELD_INVALID', 'target_path'],
    ['target_path with NUL', publishRequest({ target_path: '/var/lib/\0/mount' }), 'CM_FIELD_INVALID', 'target_path'],
    ['target_path with ..', publishRequest({ target_path: '/var/lib/kubelet/../etc/mount' }), 'CM_FIELD_INVALID', 'target_path'],
    ['target_path with .', publishRequest({ target_path: '/var/lib/./mount' }), 'CM_FIELD_INVALID', 'target_path'],
    ['target_path with //', publishRequest({ target_path: '/var/lib//mount' }), 'CM_FIELD_INVALID', 'target_path'],
    ['null volume_capability', publishRequest({ volume_capability: null }), 'CM_FIELD_MISSING', 'volume_capability'],
    ['absent volume_capability', publishRequest({ volume_capability: undefined as unknown as null }), 'CM_FIELD_MISSING', 'volume_capability'],
    ['block capability', publishRequest({ volume_capability: capability({ block: {}, mount: null, access_type: 'block' }) }), 'CM_FIELD_INVALID', 'volume_capability.block'],
    ['no mount capability', publishRequest({ volume_capability: capability({ mount: null }) }), 'CM_FIELD_MISSING', 'volume_capability.mount'],
    ['no access_mode', publishRequest({ volume_capability: capability({ access_mode: null }) }), 'CM_FIELD_MISSING', 'volume_capability.access_mode'],
    ['UNKNOWN access_mode', publishRequest({ volume_capability: capability({ access_mode: { mode: 'UNKNOWN' } }) }), 'CM_FIELD_MISSING', 'volume_capability.access_mode'],
    ['fs_type ext4', publishRequest({ volume_capability: mount({ fs_type: 'ext4' }) }), 'CM_FIELD_INVALID', 'volume_capability.mount.fs_type'],
    ['mount flags', publishRequest({ volume_capability: mount({ mount_flags: ['noexec'] }) }), 'CM_FIELD_INVALID', 'volume_capability.mount.mount_flags'],
    ['readonly false when read-only is required', publishRequest({ readonly: false }), 'CM_FIELD_INVALID', 'readonly'],
  ];
  for (const [name, request, code, field] of refusals) {
    test(`refuses ${name} with ${code} on ${field}`, () => {
      assert.throws(() => checkPublishArguments(request, STRICT), refusal(code, field));
    });
  }

  test('checks volume_id before target_path before volume_capability', () => {
    const allBad = publishRequest({ volume_id: '', target_path: 'relative', volume_capability: null, readonly: false });
    assert.throws(() => checkPublishArguments(allBad, STRICT), refusal('CM_FIELD_MISSING', 'volume_id'));
    const targetAndCapability = publishRequest({ target_path: 'relative', volume_capability: null, readonly: false });
    assert.throws(() => checkPublishArguments(targetAndCapability, STRICT), refusal('CM_FIELD_INVALID', 'target_path'));
    const capabilityAndReadOnly = publishRequest({ volume_capability: null, readonly: false });
    assert.throws(() => checkPublishArguments(capabilityAndReadOnly, STRICT), refusal('CM_FIELD_MISSING', 'volume_capability'));
  });

  test('trims trailing slashes from target_path', () => {
    assert.equal(checkPublishArguments(publishRequest({ target_path: `${TARGET}/` }), STRICT).targetPath, TARGET);
    assert.equal(checkPublishArguments(publishRequest({ target_path: `${TARGET}///` }), STRICT).targetPath, TARGET);
  });

  test('accepts fs_type tmpfs as well as empty', () => {
    assert.equal(checkPublishArguments(publishRequest({ volume_capability: mount({ fs_type: 'tmpfs' }) }), STRICT).volumeId, 'csi-abc');
  });

  test('readonly: false is accepted when read-only is not required', () => {
    const input = checkPublishArguments(publishRequest({ readonly: false }), LAX);
    assert.equal(input.readOnly, false);
  });

  test('readonly: true passes either way', () => {
    assert.equal(checkPublishArguments(publishRequest(), LAX).readOnly, true);
    assert.equal(checkPublishArguments(publishRequest(), STRICT).readOnly, true);
  });
});

describe('checkUnpublishArguments', () => {
  test('returns volume id and target path', () => {
    assert.deepEqual(checkUnpublishArguments({ volume_id: 'csi-abc', target_path: TARGET }), { volumeId: 'csi-abc', targetPath: TARGET });
  });

  test('refuses a missing volume_id', () => {
    assert.throws(() => checkUnpublishArguments({ volume_id: '', target_path: TARGET }), refusal('CM_FIELD_MISSING', 'volume_id'));
  });

  test('refuses a missing target_path', () => {
    assert.throws(() => checkUnpublishArguments({ volume_id: 'csi-abc', target_path: '' }), refusal('CM_FIELD_MISSING', 'target_path'));
  });

  test('refuses a relative or unnormalised target_path', () => {
    assert.throws(() => checkUnpublishArguments({ volume_id: 'csi-abc', target_path: 'a/b' }), refusal('CM_FIELD_INVALID', 'target_path'));
    assert.throws(() => checkUnpublishArguments({ volume_id: 'csi-abc', target_path: '/a/../b' }), refusal('CM_FIELD_INVALID', 'target_path'));
  });

  test('checks volume_id before target_path', () => {
    assert.throws(() => checkUnpublishArguments({ volume_id: '', target_path: 'relative' }), refusal('CM_FIELD_MISSING', 'volume_id'));
  });

  test('trims trailing slashes from target_path', () => {
    assert.equal(checkUnpublishArguments({ volume_id: 'csi-abc', target_path: `${TARGET}//` }).targetPath, TARGET);
  });
});

describe('checkStatsArguments', () => {
  test('returns volume id and volume path', () => {
    assert.deepEqual(checkStatsArguments({ volume_id: 'csi-abc', volume_path: TARGET, staging_target_path: '' }), { volumeId: 'csi-abc', volumePath: TARGET });
  });

  test('accepts a relative volume_path unchanged (it is then simply not found)', () => {
    assert.equal(checkStatsArguments({ volume_id: 'csi-abc', volume_path: 'some/relative/path', staging_target_path: '' }).volumePath, 'some/relative/path');
  });

  test('refuses a missing volume_id', () => {
    assert.throws(() => checkStatsArguments({ volume_id: '', volume_path: TARGET, staging_target_path: '' }), refusal('CM_FIELD_MISSING', 'volume_id'));
  });

  test('refuses a missing volume_path', () => {
    assert.throws(() => checkStatsArguments({ volume_id: 'csi-abc', volume_path: '', staging_target_path: '' }), refusal('CM_FIELD_MISSING', 'volume_path'));
  });

  test('checks volume_id before volume_path', () => {
    assert.throws(() => checkStatsArguments({ volume_id: '', volume_path: '', staging_target_path: '' }), refusal('CM_FIELD_MISSING', 'volume_id'));
  });
});
