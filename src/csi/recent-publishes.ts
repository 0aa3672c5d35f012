import protobuf from 'protobufjs/light.js';
import type { PublishRequest } from '../volumes/publish-request.js';
import type { NodePublishVolumeRequestWire } from './wire-types.js';

/**
 * The last NodePublishVolume each volume was published with, and what it parsed to.
 *
 * Why: kubelet republishes every volume every 60–90 s with the same request — the same target,
 * attributes and tokens until its cached tokens reach 80 % of their lifetime. Checking the
 * arguments and parsing the kubelet contract again (normalising the target path, validating pod
 * names, decoding tokens, splitting parameters) was about half of the driver's own work on a fresh
 * republish (bench/README.md, session 6). A request equal to the last one, field by field, parses
 * to the same result: parsing is a pure function of the request and of the moment, and the only
 * part that depends on the moment is whether a token has expired, which `reuse` checks again.
 *
 * Only requests that parsed are kept; anything else is parsed (and rejected) every time. The
 * comparison covers every field protobufjs decoded, including ones this driver ignores, so a
 * change anywhere means a full parse. Entries are dropped on unpublish and, oldest first, beyond
 * `limit` (a node's worth of volumes); a request whose maps hold more than `maxBytes` of text is
 * not kept at all (it is parsed every time), so memory stays bounded whatever pods put in their
 * volume attributes. Tokens held here are the ones the volume manager holds anyway; nothing here
 * is logged or written.
 *
 * The same holds one step earlier, for the request's bytes (`decoder`): a republish whose bytes
 * equal those of the volume's remembered request decodes to that request's object, without
 * protobufjs decoding and converting it again or `reuse` comparing it field by field: 9.8 →
 * 0.5 µs for a kubelet-sized request (bench/README.md, session 8). Equal bytes decode to equal
 * messages, so this changes no answer. Remembered requests are frozen: one object now serves
 * many calls.
 */
export class RecentPublishes {
  readonly #byVolume = new Map<string, { readonly request: NodePublishVolumeRequestWire; readonly parsed: PublishRequest; readonly bytes: Buffer | undefined }>();
  /** The bytes each request `decoder` decoded came from, until `remember` keeps them. */
  readonly #bytesOf = new WeakMap<object, Buffer>();

  constructor(
    private readonly limit = 1024,
    private readonly maxBytes = 64 * 1024,
  ) {}

  /**
   * What `request` parsed to last time, if it is the same request and every token in it is
   * still unexpired at `now`; otherwise undefined (parse it, which reports the expiry).
   */
  reuse(request: NodePublishVolumeRequestWire, now: Date): PublishRequest | undefined {
    const known = this.#byVolume.get(request.volume_id);
    if (known === undefined || !sameWireValue(known.request, request)) return undefined;
    for (const token of known.parsed.tokens.values()) {
      if (token.expiresAt.getTime() <= now.getTime()) return undefined;
    }
    return known.parsed;
  }

  remember(request: NodePublishVolumeRequestWire, parsed: PublishRequest): void {
    this.#byVolume.delete(request.volume_id);
    if (textLength(request.volume_context) + textLength(request.secrets) + textLength(request.publish_context) > this.maxBytes) return;
    if (this.#byVolume.size >= this.limit) this.#byVolume.delete(this.#byVolume.keys().next().value as string);
    const bytes = this.#bytesOf.get(request);
    // A copy, and the original let go: grpc-js's buffer is a view of Node.js's shared 8 KiB
    // allocation pool (as Buffer.from's copy would be), which would otherwise stay alive with it.
    this.#bytesOf.delete(request);
    // Bytes beyond `maxBytes` are not kept (such a request is decoded every time, and its parse
    // still reused): with the maps' bound above, at most 2 × maxBytes a volume, whatever pods send.
    const kept = bytes === undefined || bytes.byteLength > this.maxBytes ? undefined : ownCopy(bytes);
    this.#byVolume.set(request.volume_id, { request: deepFreeze(request), parsed, bytes: kept });
  }

  /**
   * Wraps NodePublishVolume's request deserializer (grpc-js calls it with each request's bytes):
   * bytes equal to the remembered request's of the same volume give that request's object.
   */
  decoder(decode: (bytes: Buffer) => NodePublishVolumeRequestWire): (bytes: Buffer) => NodePublishVolumeRequestWire {
    return (bytes) => {
      const volumeId = leadingVolumeId(bytes);
      const known = volumeId === undefined ? undefined : this.#byVolume.get(volumeId);
      if (known?.bytes !== undefined && known.bytes.equals(bytes)) return known.request;
      const request = decode(bytes);
      this.#bytesOf.set(request, bytes);
      return request;
    };
  }

  forget(volumeId: string): void {
    this.#byVolume.delete(volumeId);
  }

  get size(): number {
    return this.#byVolume.size;
  }
}

/**
 * NodePublishVolumeRequest's `volume_id` (field 1, a string) when the message starts with it, as
 * kubelet's (Go) and protobufjs's encoders write it, fields in number order; otherwise undefined
 * (the request is then simply decoded). Only an index: what is returned for it is decided by
 * comparing the whole bytes.
 */
export function leadingVolumeId(bytes: Buffer): string | undefined {
  try {
    const reader = protobuf.Reader.create(bytes);
    // Tag of field 1 with wire type 2 (length-delimited): (1 << 3) | 2.
    if (reader.uint32() !== 0x0a) return undefined;
    const length = reader.uint32();
    return reader.pos + length <= reader.len ? bytes.toString('utf8', reader.pos, reader.pos + length) : undefined;
  } catch {
    // A varint cut short (protobufjs's RangeError): not a message to index.
    return undefined;
  }
}

/** `bytes` in memory of their own, not a view of a pooled or larger buffer. */
function ownCopy(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.byteLength);
  bytes.copy(copy);
  return copy;
}

/** Freezes a decoded message and everything in it (plain objects, arrays; Uint8Arrays cannot be). */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** UTF-16 code units in a string map's keys and values (a bound, not an exact byte count). */
function textLength(map: Record<string, string> | undefined): number {
  let length = 0;
  for (const [key, value] of Object.entries(map ?? {})) length += key.length + value.length;
  return length;
}

/**
 * Structural equality of two decoded protobuf messages (protobufjs toObject output: plain
 * objects, arrays, strings, numbers, booleans, null, and Uint8Array for bytes fields). Not
 * node:util's isDeepStrictEqual, which answers the same for decoded messages but took ~7 µs per
 * kubelet request against ~2 µs here (it also checks prototypes, symbols and cycles), and this
 * runs on every republish.
 */
export function sameWireValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameWireValue(a[i], b[i])) return false;
    return true;
  }
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  const keys = Object.keys(aRecord);
  if (keys.length !== Object.keys(bRecord).length) return false;
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(bRecord, key) || !sameWireValue(aRecord[key], bRecord[key])) return false;
  }
  return true;
}
