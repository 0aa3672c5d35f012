/**
 * Writes proto/csi.json, the JSON form of proto/csi.proto that the driver loads (src/csi/csi-proto.ts:
 * the driver does not parse .proto text at start-up). Run after changing csi.proto:
 * `npm run build && node dist/scripts/csi-descriptor.js`. A unit test fails while the two differ.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import protobuf from 'protobufjs';
import { CSI_DESCRIPTOR_PATH, CSI_PROTO_PATH } from '../src/csi/csi-proto.js';

/** csi.proto parsed by protobufjs, field names as written (snake_case), in protobufjs's JSON form. */
export function csiDescriptorFromProto(): protobuf.INamespace {
  const root = new protobuf.Root();
  // google/protobuf/wrappers.proto comes from protobufjs's bundled common types.
  root.loadSync(CSI_PROTO_PATH, { keepCase: true });
  root.resolveAll();
  return root.toJSON();
}

export function renderCsiDescriptor(): string {
  return `${JSON.stringify(csiDescriptorFromProto(), null, 1)}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(CSI_DESCRIPTOR_PATH, renderCsiDescriptor());
  console.log(`wrote ${CSI_DESCRIPTOR_PATH}`);
}
