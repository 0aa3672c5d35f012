import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/**
 * Loads our own csi.proto (the Identity and Node subset of CSI v1.12, same names and field
 * numbers as the spec, so the wire format is the spec's). Field names stay snake_case as on the
 * wire; enums are strings; 64-bit integers are strings so that byte counts never lose precision.
 */
export const CSI_PROTO_PATH = fileURLToPath(new URL('../../../proto/csi.proto', import.meta.url));

export const PROTO_LOADER_OPTIONS = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});

export interface CsiServices {
  readonly Identity: ServiceClientConstructor;
  readonly Node: ServiceClientConstructor;
}

let cached: CsiServices | undefined;

export function loadCsiServices(): CsiServices {
  if (cached !== undefined) return cached;
  const definition = loadSync(CSI_PROTO_PATH, PROTO_LOADER_OPTIONS);
  const root = loadPackageDefinition(definition) as unknown as { csi: { v1: GrpcObject } };
  const v1 = root.csi.v1;
  cached = { Identity: v1['Identity'] as ServiceClientConstructor, Node: v1['Node'] as ServiceClientConstructor };
  return cached;
}
