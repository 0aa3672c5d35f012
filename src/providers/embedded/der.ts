/**
 * DER (X.690) tag-length-value framing, just what certificate-der.ts writes: each helper
 * returns the complete encoding of one value, and constructed values are the concatenation of
 * their parts. Definite lengths, minimal length octets, primitive strings — DER's rules.
 */

/*
 * Every value is written into a Buffer from Node's shared pool (Buffer.allocUnsafe, each byte then
 * written): a certificate is a few hundred small values, and each `new Uint8Array` had its own
 * ArrayBuffer, allocated and later swept by V8 — a third of a certificate's CPU.
 */

/** Octets of a definite length: 0 for the short form, else how many follow the 0x8n octet. */
function lengthOctets(length: number): number {
  if (length < 0x80) return 0;
  let count = 0;
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) count++;
  return count;
}

/** Tag and length at the start of `out`; returns where the content begins. */
function writeHeader(out: Buffer, tag: number, length: number, extra: number): number {
  out[0] = tag;
  if (extra === 0) {
    out[1] = length;
    return 2;
  }
  // Long form: 0x80 | number of length octets, then the length big-endian.
  out[1] = 0x80 | extra;
  for (let i = extra, rest = length; i >= 1; i--, rest = Math.floor(rest / 256)) out[1 + i] = rest % 256;
  return 2 + extra;
}

/** One value whose content is the concatenation of `parts`, written once. */
function tlvOf(tag: number, parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const extra = lengthOctets(length);
  const out = Buffer.allocUnsafe(2 + extra + length);
  let at = writeHeader(out, tag, length, extra);
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function tlv(tag: number, content: Uint8Array): Uint8Array {
  return tlvOf(tag, [content]);
}

/** Shared single octets; only ever copied from. */
const ZERO = Uint8Array.of(0x00);
const TRUE_OCTET = Uint8Array.of(0xff);

export const sequence = (...parts: Uint8Array[]): Uint8Array => tlvOf(0x30, parts);
export const set = (...parts: Uint8Array[]): Uint8Array => tlvOf(0x31, parts);
export const boolean = (value: boolean): Uint8Array => tlv(0x01, value ? TRUE_OCTET : ZERO);
export const octetString = (bytes: Uint8Array): Uint8Array => tlv(0x04, bytes);
export const utf8String = (text: string): Uint8Array => tlv(0x0c, Buffer.from(text, 'utf8'));
/** [n] IMPLICIT of a primitive type: the bytes under a context-specific tag. */
export const contextPrimitive = (tagNumber: number, bytes: Uint8Array): Uint8Array => tlv(0x80 | tagNumber, bytes);
/** [n] EXPLICIT, or an IMPLICIT constructed type: the encodings under a context-specific constructed tag. */
export const contextConstructed = (tagNumber: number, ...parts: Uint8Array[]): Uint8Array => tlvOf(0xa0 | tagNumber, parts);

/** BIT STRING: the first content octet counts the unused bits of the last. */
export function bitString(bytes: Uint8Array, unusedBits: number): Uint8Array {
  return tlvOf(0x03, [Buffer.of(unusedBits), bytes]);
}

/**
 * INTEGER from big-endian magnitude bytes of a non-negative number: leading zero octets are
 * dropped, and one is added back when the high bit would make it negative.
 */
export function integer(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return (trimmed[0] ?? 0) & 0x80 ? tlvOf(0x02, [ZERO, trimmed]) : tlv(0x02, trimmed.length === 0 ? ZERO : trimmed);
}

/**
 * Encoded identifiers by their dotted form: a certificate uses the same handful every time, and
 * encoding them again was a third of the DER work of each one. Callers only copy the bytes.
 */
const encodedIdentifiers = new Map<string, Uint8Array>();

/** OBJECT IDENTIFIER from dotted decimal: first two arcs in one octet, then base-128 arcs. */
export function objectIdentifier(dotted: string): Uint8Array {
  let encoded = encodedIdentifiers.get(dotted);
  if (encoded === undefined) {
    encoded = encodeObjectIdentifier(dotted);
    // Bounded, should identifiers ever come from input rather than from the code.
    if (encodedIdentifiers.size < 256) encodedIdentifiers.set(dotted, encoded);
  }
  return encoded;
}

function encodeObjectIdentifier(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const octets: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const group: number[] = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) group.unshift(0x80 | (value & 0x7f));
    octets.push(...group);
  }
  return tlv(0x06, Uint8Array.from(octets));
}

const two = (n: number) => String(n).padStart(2, '0');
const clock = (date: Date) => `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;

/** UTCTime YYMMDDHHMMSSZ (RFC 5280: for years 1950–2049, seconds always present). */
export const utcTime = (date: Date): Uint8Array => tlv(0x17, Buffer.from(`${two(date.getUTCFullYear() % 100)}${clock(date)}`, 'ascii'));
/** GeneralizedTime YYYYMMDDHHMMSSZ, no fraction (RFC 5280 §4.1.2.5.2). */
export const generalizedTime = (date: Date): Uint8Array => tlv(0x18, Buffer.from(`${String(date.getUTCFullYear()).padStart(4, '0')}${clock(date)}`, 'ascii'));

/**
 * The subjectPublicKey bits of a SubjectPublicKeyInfo (SEQUENCE { algorithm, BIT STRING }),
 * without the unused-bits octet: what a key identifier is hashed from.
 */
export function readSubjectPublicKey(spki: Uint8Array): Uint8Array {
  const outer = readTlv(spki, 0);
  if (outer.tag !== 0x30) throw new Error('not a SubjectPublicKeyInfo: no outer SEQUENCE');
  const algorithm = readTlv(spki, outer.contentStart);
  const key = readTlv(spki, algorithm.end);
  if (key.tag !== 0x03 || key.end > outer.end) throw new Error('not a SubjectPublicKeyInfo: no BIT STRING after the algorithm');
  return spki.subarray(key.contentStart + 1, key.end);
}

function readTlv(bytes: Uint8Array, at: number): { tag: number; contentStart: number; end: number } {
  const tag = bytes[at];
  const first = bytes[at + 1];
  if (tag === undefined || first === undefined) throw new Error('truncated DER');
  let length = first;
  let contentStart = at + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[contentStart + i] ?? 0);
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > bytes.length) throw new Error('truncated DER');
  return { tag, contentStart, end };
}
