/**
 * DER (X.690) tag-length-value framing, just what certificate-der.ts writes: each helper
 * returns the complete encoding of one value, and constructed values are the concatenation of
 * their parts. Definite lengths, minimal length octets, primitive strings — DER's rules.
 */

function tlv(tag: number, content: Uint8Array): Uint8Array {
  const length = content.length;
  let header: number[];
  if (length < 0x80) header = [tag, length];
  else {
    // Long form: 0x80 | number of length octets, then the length big-endian.
    const octets: number[] = [];
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256);
    header = [tag, 0x80 | octets.length, ...octets];
  }
  const out = new Uint8Array(header.length + length);
  out.set(header, 0);
  out.set(content, header.length);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export const sequence = (...parts: Uint8Array[]): Uint8Array => tlv(0x30, concat(parts));
export const set = (...parts: Uint8Array[]): Uint8Array => tlv(0x31, concat(parts));
export const boolean = (value: boolean): Uint8Array => tlv(0x01, Uint8Array.of(value ? 0xff : 0x00));
export const octetString = (bytes: Uint8Array): Uint8Array => tlv(0x04, bytes);
export const utf8String = (text: string): Uint8Array => tlv(0x0c, Buffer.from(text, 'utf8'));
/** [n] IMPLICIT of a primitive type: the bytes under a context-specific tag. */
export const contextPrimitive = (tagNumber: number, bytes: Uint8Array): Uint8Array => tlv(0x80 | tagNumber, bytes);
/** [n] EXPLICIT, or an IMPLICIT constructed type: the encodings under a context-specific constructed tag. */
export const contextConstructed = (tagNumber: number, ...parts: Uint8Array[]): Uint8Array => tlv(0xa0 | tagNumber, concat(parts));

/** BIT STRING: the first content octet counts the unused bits of the last. */
export function bitString(bytes: Uint8Array, unusedBits: number): Uint8Array {
  return tlv(0x03, concat([Uint8Array.of(unusedBits), bytes]));
}

/**
 * INTEGER from big-endian magnitude bytes of a non-negative number: leading zero octets are
 * dropped, and one is added back when the high bit would make it negative.
 */
export function integer(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return tlv(0x02, (trimmed[0] ?? 0) & 0x80 ? concat([Uint8Array.of(0), trimmed]) : trimmed.length === 0 ? Uint8Array.of(0) : trimmed);
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
