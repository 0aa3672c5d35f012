import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadCsiServices } from '../../../src/csi/csi-proto.js';
import { leadingVolumeId, RecentPublishes, sameWireValue } from '../../../src/csi/recent-publishes.js';
import type { NodePublishVolumeRequestWire } from '../../../src/csi/wire-types.js';
import type { PublishRequest } from '../../../src/volumes/publish-request.js';

function request(volumeId: string, context: Record<string, string> = { a: '1' }): NodePublishVolumeRequestWire {
  return {
    volume_id: volumeId,
    publish_context: {},
    staging_target_path: '',
    target_path: `/var/lib/kubelet/pods/p/volumes/kubernetes.io~csi/${volumeId}/mount`,
    volume_capability: { mount: { fs_type: '', mount_flags: [], volume_mount_group: '' }, access_mode: { mode: 'SINGLE_NODE_WRITER' }, access_type: 'mount' },
    readonly: true,
    secrets: {},
    volume_context: context,
  };
}

function parsed(volumeId: string, tokenExpiresAt?: Date): PublishRequest {
  const tokens = new Map(tokenExpiresAt === undefined ? [] : [['vault', { audience: 'vault', token: 'h.p.s', expiresAt: tokenExpiresAt, serviceAccountUid: '' }]]);
  return { volumeId, tokens } as unknown as PublishRequest;
}

describe('sameWireValue', () => {
  test('equal decoded messages are the same, whatever their key order', () => {
    const a = request('v1', { a: '1', b: '2' });
    const b = request('v1', { b: '2', a: '1' });
    assert.equal(sameWireValue(a, b), true);
  });

  test('a difference in any field, at any depth, is a difference', () => {
    const base = request('v1');
    const variants: NodePublishVolumeRequestWire[] = [
      { ...base, readonly: false },
      { ...base, target_path: `${base.target_path}/` },
      { ...base, volume_context: { a: '2' } },
      { ...base, volume_context: { a: '1', b: '' } },
      { ...base, volume_context: {} },
      { ...base, secrets: { token: 'x' } },
      { ...base, publish_context: { k: 'v' } },
      { ...base, staging_target_path: '/staging' },
      { ...base, volume_capability: { ...base.volume_capability, mount: { fs_type: '', mount_flags: ['ro'], volume_mount_group: '' } } },
      { ...base, volume_capability: { ...base.volume_capability, mount: { fs_type: '', mount_flags: [], volume_mount_group: '1000' } } },
      { ...base, volume_capability: { ...base.volume_capability, access_mode: { mode: 'MULTI_NODE_READER_ONLY' } } },
      { ...base, volume_capability: null },
    ];
    for (const variant of variants) {
      assert.equal(sameWireValue(base, variant), false, JSON.stringify(variant));
      assert.equal(sameWireValue(variant, base), false, JSON.stringify(variant));
    }
  });

  test('bytes fields compare by content; a missing key is not an undefined one', () => {
    assert.equal(sameWireValue({ b: Buffer.from('ab') }, { b: new Uint8Array([97, 98]) }), true);
    assert.equal(sameWireValue({ b: Buffer.from('ab') }, { b: Buffer.from('ac') }), false);
    assert.equal(sameWireValue({ b: Buffer.from('ab') }, { b: 'ab' }), false);
    assert.equal(sameWireValue({ a: undefined }, { b: undefined }), false);
    assert.equal(sameWireValue([1, 2], { 0: 1, 1: 2 }), false);
  });
});

describe('RecentPublishes', () => {
  const now = new Date(Date.UTC(2026, 10, 29, 12));

  test('reuses the parse of a request equal to the last one of its volume, and only then', () => {
    const recent = new RecentPublishes();
    const first = parsed('v1', new Date(now.getTime() + 60_000));
    recent.remember(request('v1'), first);
    assert.equal(recent.reuse(request('v1'), now), first);
    assert.equal(recent.reuse(request('v1', { a: '2' }), now), undefined);
    assert.equal(recent.reuse(request('v2'), now), undefined);
  });

  test('does not reuse a parse whose token has expired by now', () => {
    const recent = new RecentPublishes();
    const expiresAt = new Date(now.getTime() + 60_000);
    recent.remember(request('v1'), parsed('v1', expiresAt));
    assert.notEqual(recent.reuse(request('v1'), new Date(expiresAt.getTime() - 1)), undefined);
    assert.equal(recent.reuse(request('v1'), expiresAt), undefined);
  });

  test('does not keep a request whose attributes exceed its size bound, and forgets the one before', () => {
    const recent = new RecentPublishes(16, 1_000);
    recent.remember(request('v1'), parsed('v1'));
    const large = request('v1', { objects: 'x'.repeat(1_001) });
    recent.remember(large, parsed('v1'));
    assert.equal(recent.size, 0);
    assert.equal(recent.reuse(large, now), undefined);
    assert.equal(recent.reuse(request('v1'), now), undefined, 'the earlier request of the volume is not reused after another was seen');
    recent.remember(request('v2', { objects: 'x'.repeat(900) }), parsed('v2'));
    assert.equal(recent.size, 1);
  });

  test('forgets a volume on request, and the oldest volume beyond its limit', () => {
    const recent = new RecentPublishes(2);
    recent.remember(request('v1'), parsed('v1'));
    recent.remember(request('v2'), parsed('v2'));
    recent.remember(request('v1'), parsed('v1'));
    recent.remember(request('v3'), parsed('v3'));
    assert.equal(recent.size, 2);
    assert.equal(recent.reuse(request('v2'), now), undefined, 'v2 was the least recently remembered');
    assert.notEqual(recent.reuse(request('v1'), now), undefined);
    recent.forget('v1');
    assert.equal(recent.reuse(request('v1'), now), undefined);
    assert.equal(recent.size, 1);
  });
});

describe('RecentPublishes.decoder', () => {
  const now = new Date(Date.UTC(2026, 10, 29, 12));
  const definition = loadCsiServices().Node.service['NodePublishVolume'];
  assert.ok(definition !== undefined);
  const encode = (value: NodePublishVolumeRequestWire) => definition.requestSerialize(value);
  const decodeFully = definition.requestDeserialize as (bytes: Buffer) => NodePublishVolumeRequestWire;
  /** A decoder that counts the full decodes it falls back to. */
  function counting(recent: RecentPublishes) {
    const counter = { decodes: 0 };
    const decode = recent.decoder((bytes) => {
      counter.decodes += 1;
      return decodeFully(bytes);
    });
    return { decode, counter };
  }

  test('the bytes of the remembered request decode to that same object, without decoding them again', () => {
    const recent = new RecentPublishes();
    const { decode, counter } = counting(recent);
    const bytes = encode(request('v1'));
    const first = decode(bytes);
    assert.deepEqual(first, decodeFully(bytes));
    recent.remember(first, parsed('v1', new Date(now.getTime() + 60_000)));
    // grpc-js hands each call its own buffer.
    const again = decode(Buffer.from(bytes));
    assert.equal(again, first);
    assert.equal(counter.decodes, 1);
    assert.notEqual(recent.reuse(again, now), undefined);
    // Shared by calls, so frozen to the last map.
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.volume_context) && Object.isFrozen(first.volume_capability?.mount?.mount_flags));
  });

  test('different bytes are decoded, whatever changed; unremembered and forgotten volumes too', () => {
    const recent = new RecentPublishes();
    const { decode, counter } = counting(recent);
    const first = decode(encode(request('v1')));
    recent.remember(first, parsed('v1'));
    const changed = decode(encode(request('v1', { a: '2' })));
    assert.notEqual(changed, first);
    assert.equal(changed.volume_context['a'], '2');
    assert.notEqual(decode(encode({ ...request('v1'), readonly: false })), first);
    // Not remembered (say, it was refused): decoded every time.
    const other = encode(request('v2'));
    assert.notEqual(decode(other), decode(other));
    recent.forget('v1');
    assert.notEqual(decode(encode(request('v1'))), first);
    assert.equal(counter.decodes, 6);
  });

  test('a request remembered without its bytes, or with more bytes than the bound, is decoded every time', () => {
    const recent = new RecentPublishes(16, 1_000);
    const { decode, counter } = counting(recent);
    recent.remember(request('v1'), parsed('v1'));
    decode(encode(request('v1')));
    // Maps within the bound (its parse is kept and reused), but 1,000+ bytes on the wire.
    const long = { ...request('v2', { objects: 'x'.repeat(600) }), target_path: `/var/lib/kubelet/pods/${'p'.repeat(400)}/mount` };
    assert.ok(encode(long).byteLength > 1_000);
    const first = decode(encode(long));
    recent.remember(first, parsed('v2'));
    assert.equal(recent.size, 2);
    const again = decode(encode(long));
    assert.notEqual(again, first);
    assert.notEqual(recent.reuse(again, now), undefined, 'the parse is still reused');
    assert.equal(counter.decodes, 3);
  });

  test('leadingVolumeId reads field 1 when the message starts with it, and only then', () => {
    assert.equal(leadingVolumeId(encode(request('csi-0123'))), 'csi-0123');
    const long = `csi-${'a'.repeat(300)}`;
    assert.equal(leadingVolumeId(encode(request(long))), long, 'a two-byte length');
    assert.equal(leadingVolumeId(Buffer.from([0x0a, 0x00, 0x12, 0x01, 0x61])), '', 'an empty volume_id');
    assert.equal(leadingVolumeId(Buffer.from([0x12, 0x01, 0x61])), undefined, 'another field first');
    assert.equal(leadingVolumeId(Buffer.from([0x0a, 0x05, 0x61])), undefined, 'a length beyond the bytes');
    assert.equal(leadingVolumeId(Buffer.from([0x0a, 0x80])), undefined, 'a varint cut short');
    assert.equal(leadingVolumeId(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x01])), undefined, 'a length beyond any message');
    assert.equal(leadingVolumeId(Buffer.alloc(0)), undefined);
  });
});
