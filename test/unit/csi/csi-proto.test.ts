import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { renderCsiDescriptor } from '../../../scripts/csi-descriptor.js';
import { CSI_DESCRIPTOR_PATH, CSI_PROTO_PATH, loadCsiServices } from '../../../src/csi/csi-proto.js';

/**
 * The driver builds its gRPC service definitions from proto/csi.json with protobufjs instead of
 * loading proto/csi.proto through @grpc/proto-loader (start-up time). These tests hold it to
 * proto-loader's behaviour with the options the driver used before: same methods and paths, same
 * bytes on the wire, same objects out of the same bytes.
 */

type AnyMethod = MethodDefinition<object, object>;

function protoLoaderServices(): { Identity: ServiceDefinition; Node: ServiceDefinition } {
  const definition = loadSync(CSI_PROTO_PATH, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  return { Identity: definition['csi.v1.Identity'] as ServiceDefinition, Node: definition['csi.v1.Node'] as ServiceDefinition };
}

const ours = loadCsiServices();
const reference = protoLoaderServices();

function method(service: ServiceDefinition, name: string): AnyMethod {
  const found = service[name];
  assert.ok(found !== undefined, `method ${name}`);
  return found as AnyMethod;
}

/** A NodePublishVolume request as kubelet sends it for an inline volume (token in volume_context). */
const KUBELET_PUBLISH = {
  volume_id: 'csi-3b1f0c2e9d7a4b5c8e6f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d',
  publish_context: {},
  target_path: '/var/lib/kubelet/pods/9f1c7a52-3d1e-4b8a-9c65-2f0e4d7b1a10/volumes/kubernetes.io~csi/creds/mount',
  volume_capability: { mount: { fs_type: '', mount_flags: ['ro', 'noexec'], volume_mount_group: '2000' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
  readonly: true,
  secrets: {},
  volume_context: {
    'csi.storage.k8s.io/ephemeral': 'true',
    'csi.storage.k8s.io/pod.name': 'billing-0',
    'csi.storage.k8s.io/pod.namespace': 'payments',
    'csi.storage.k8s.io/pod.uid': '9f1c7a52-3d1e-4b8a-9c65-2f0e4d7b1a10',
    'csi.storage.k8s.io/serviceAccount.name': 'billing',
    'csi.storage.k8s.io/serviceAccount.tokens': '{"credmount":{"token":"header.claims.signature","expirationTimestamp":"2026-11-28T23:00:00Z"}}',
    secretProviderClass: 'billing-secrets',
  },
};

/** Messages whose conversions differ most: int64 as strings, enums, oneofs, maps, wrappers, nested repeated. */
const SAMPLES: ReadonlyArray<{ service: 'Identity' | 'Node'; method: string; request?: object; response?: object }> = [
  { service: 'Node', method: 'NodePublishVolume', request: KUBELET_PUBLISH, response: {} },
  { service: 'Node', method: 'NodePublishVolume', request: { volume_id: 'v', target_path: '/t', volume_capability: { block: {}, access_mode: { mode: 'MULTI_NODE_READER_ONLY' } } } },
  { service: 'Node', method: 'NodeUnpublishVolume', request: { volume_id: 'v', target_path: '/t' }, response: {} },
  {
    service: 'Node',
    method: 'NodeGetVolumeStats',
    request: { volume_id: 'v', volume_path: '/t' },
    response: { usage: [{ available: '9007199254740993', total: '9223372036854775807', used: '1', unit: 'BYTES' }, { available: '10', total: '12', used: '2', unit: 'INODES' }], volume_condition: { abnormal: true, message: 'x' } },
  },
  { service: 'Node', method: 'NodeGetCapabilities', request: {}, response: { capabilities: [{ rpc: { type: 'GET_VOLUME_STATS' } }, { rpc: { type: 'VOLUME_MOUNT_GROUP' } }] } },
  { service: 'Node', method: 'NodeGetInfo', request: {}, response: { node_id: 'node-1', max_volumes_per_node: '110', accessible_topology: { segments: { 'topology.kubernetes.io/zone': 'a' } } } },
  { service: 'Identity', method: 'Probe', request: {}, response: { ready: { value: true } } },
  { service: 'Identity', method: 'Probe', response: { ready: { value: false } } },
  { service: 'Identity', method: 'GetPluginInfo', request: {}, response: { name: 'credmount.dev', vendor_version: '0.1.0', manifest: { a: 'b' } } },
  { service: 'Identity', method: 'GetPluginCapabilities', request: {}, response: { capabilities: [{ service: { type: 'CONTROLLER_SERVICE' } }] } },
];

describe('csi proto', () => {
  test('proto/csi.json is what protobufjs makes of proto/csi.proto (regenerate: node dist/scripts/csi-descriptor.js)', () => {
    assert.equal(readFileSync(CSI_DESCRIPTOR_PATH, 'utf8'), renderCsiDescriptor());
  });

  test('the services have the methods, paths and stream flags proto-loader gives them', () => {
    for (const name of ['Identity', 'Node'] as const) {
      const ourService = ours[name].service;
      const theirs = reference[name];
      assert.deepEqual(Object.keys(ourService).sort(), Object.keys(theirs).sort(), name);
      for (const key of Object.keys(theirs)) {
        const a = method(ourService, key);
        const b = method(theirs, key);
        assert.deepEqual(
          { path: a.path, requestStream: a.requestStream, responseStream: a.responseStream, originalName: a.originalName },
          { path: b.path, requestStream: b.requestStream, responseStream: b.responseStream, originalName: b.originalName },
          key,
        );
      }
    }
    assert.equal(method(ours.Node.service, 'NodePublishVolume').path, '/csi.v1.Node/NodePublishVolume');
  });

  test('every request and response decodes from no bytes to the same defaults as with proto-loader', () => {
    const empty = Buffer.alloc(0);
    for (const name of ['Identity', 'Node'] as const) {
      for (const key of Object.keys(reference[name])) {
        const a = method(ours[name].service, key);
        const b = method(reference[name], key);
        assert.deepEqual(a.requestDeserialize(empty), b.requestDeserialize(empty), `${key} request`);
        assert.deepEqual(a.responseDeserialize(empty), b.responseDeserialize(empty), `${key} response`);
      }
    }
    // The defaults the handlers rely on (wire-types.ts): maps and lists present, strings empty, enums named.
    const publish = method(ours.Node.service, 'NodePublishVolume').requestDeserialize(empty) as Record<string, unknown>;
    assert.deepEqual(publish['volume_context'], {});
    assert.deepEqual(publish['secrets'], {});
    assert.equal(publish['target_path'], '');
    assert.equal(publish['volume_capability'], null);
  });

  for (const [index, sample] of SAMPLES.entries()) {
    test(`${sample.service}.${sample.method} #${index}: same bytes and same objects as proto-loader`, () => {
      const a = method(ours[sample.service].service, sample.method);
      const b = method(reference[sample.service], sample.method);
      for (const [side, value] of [['request', sample.request], ['response', sample.response]] as const) {
        if (value === undefined) continue;
        const serialize = side === 'request' ? [a.requestSerialize, b.requestSerialize] : [a.responseSerialize, b.responseSerialize];
        const deserialize = side === 'request' ? [a.requestDeserialize, b.requestDeserialize] : [a.responseDeserialize, b.responseDeserialize];
        const bytes = serialize[0]!(value);
        assert.ok(Buffer.isBuffer(bytes), `${side}: a Buffer for grpc-js`);
        assert.deepEqual(bytes, serialize[1]!(value), `${side} bytes`);
        const decoded = deserialize[0]!(bytes);
        assert.deepEqual(decoded, deserialize[1]!(bytes), `${side} object`);
        // And the values survive a round trip (int64 beyond 2^53 included). Not byte for byte:
        // the decoded object carries defaults, which protobufjs then writes out explicitly.
        assert.deepEqual(deserialize[0]!(serialize[0]!(decoded)), decoded, `${side} re-encoded`);
      }
    });
  }

  test('the large 64-bit values of volume stats survive as exact strings', () => {
    const stats = method(ours.Node.service, 'NodeGetVolumeStats');
    const decoded = stats.responseDeserialize(stats.responseSerialize({ usage: [{ total: '9223372036854775807', unit: 'BYTES' }] })) as { usage: Array<Record<string, unknown>> };
    assert.equal(decoded.usage[0]?.['total'], '9223372036854775807');
    assert.equal(decoded.usage[0]?.['unit'], 'BYTES');
  });

  test('an array is refused with the message type named, not encoded as fields', () => {
    const publish = method(ours.Node.service, 'NodePublishVolume');
    assert.throws(() => publish.responseSerialize([] as unknown as object), /csi\.v1\.NodePublishVolumeResponse: expected an object, got an array/);
  });
});
