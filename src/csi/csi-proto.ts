import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeClientConstructor, type MethodDefinition, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs/light.js';

/**
 * Our own csi.proto (the Identity and Node subset of CSI v1.12, same names and field numbers as
 * the spec, so the wire format is the spec's), as gRPC service definitions for grpc-js.
 *
 * The driver reads `proto/csi.json`, protobufjs's JSON form of `proto/csi.proto`
 * (`scripts/csi-descriptor.ts` writes it; a unit test fails if the two differ), and builds the
 * service definitions from protobufjs's types itself — what @grpc/proto-loader does, without its
 * start-up work: parsing the .proto text and encoding a FileDescriptorProto for every message
 * (for reflection, which nobody asks a CSI plugin for) took ~30 ms of a ~350 ms cold start
 * (bench/README.md). Messages convert exactly as proto-loader converts them with these options
 * (a unit test compares both on kubelet's requests): field names stay snake_case as on the wire,
 * enums are strings, 64-bit integers are strings so that byte counts never lose precision,
 * absent fields get their defaults and oneofs name their set member.
 */
export const CSI_PROTO_PATH = fileURLToPath(new URL('../../../proto/csi.proto', import.meta.url));
export const CSI_DESCRIPTOR_PATH = fileURLToPath(new URL('../../../proto/csi.json', import.meta.url));

/** protobufjs's `toObject` options (proto-loader's `longs`, `enums`, `defaults`, `oneofs`). */
const MESSAGE_CONVERSION: protobuf.IConversionOptions = Object.freeze({ longs: String, enums: String, defaults: true, oneofs: true });

export interface CsiServices {
  readonly Identity: ServiceClientConstructor;
  readonly Node: ServiceClientConstructor;
}

type CsiMethodDefinition = MethodDefinition<object, object>;

function serializerFor(type: protobuf.Type): (value: object) => Buffer {
  return (value) => {
    // fromObject takes any object and would read an array's indices as fields: a caller's bug.
    if (Array.isArray(value)) throw new TypeError(`cannot serialize ${type.fullName.slice(1)}: expected an object, got an array`);
    const bytes = type.encode(type.fromObject(value)).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializerFor(type: protobuf.Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), MESSAGE_CONVERSION);
}

/** `NodePublishVolume` → `nodePublishVolume`: the alias grpc-js also accepts, as proto-loader sets it. */
function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function serviceDefinition(service: protobuf.Service): ServiceDefinition {
  const definition: Record<string, CsiMethodDefinition> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const request = method.resolvedRequestType;
    const response = method.resolvedResponseType;
    if (request === null || response === null) throw new Error(`${service.fullName}.${method.name}: unresolved message types`);
    definition[method.name] = {
      path: `/${service.fullName.slice(1)}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serializerFor(request),
      requestDeserialize: deserializerFor(request),
      responseSerialize: serializerFor(response),
      responseDeserialize: deserializerFor(response),
      originalName: lowerFirst(method.name),
    };
  }
  return definition;
}

let cached: CsiServices | undefined;

export function loadCsiServices(): CsiServices {
  if (cached !== undefined) return cached;
  const root = protobuf.Root.fromJSON(JSON.parse(readFileSync(CSI_DESCRIPTOR_PATH, 'utf8')) as protobuf.INamespace);
  root.resolveAll();
  const identity = serviceDefinition(root.lookupService('csi.v1.Identity'));
  const node = serviceDefinition(root.lookupService('csi.v1.Node'));
  cached = { Identity: makeClientConstructor(identity, 'csi.v1.Identity'), Node: makeClientConstructor(node, 'csi.v1.Node') };
  return cached;
}
