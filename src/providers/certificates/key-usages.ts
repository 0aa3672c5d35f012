/**
 * cert-manager's key usage names (pkg/apis/certmanager/v1 `KeyUsage`) and what they become in
 * X.509: key usages (RFC 5280 4.2.1.3) or extended key usages (4.2.1.12). `signing` is an alias
 * of `digital signature` and `s/mime` of `email protection`, as in cert-manager's pki package.
 */
/** Values of @peculiar/x509's `KeyUsageFlags` (not loaded here: parsing must stay light). */
export const KEY_USAGE_BITS: Readonly<Record<string, number>> = {
  signing: 1,
  'digital signature': 1,
  'content commitment': 2,
  'key encipherment': 4,
  'data encipherment': 8,
  'key agreement': 16,
  'cert sign': 32,
  'crl sign': 64,
  'encipher only': 128,
  'decipher only': 256,
};

export const EXTENDED_KEY_USAGE_OIDS: Readonly<Record<string, string>> = {
  any: '2.5.29.37.0',
  'server auth': '1.3.6.1.5.5.7.3.1',
  'client auth': '1.3.6.1.5.5.7.3.2',
  'code signing': '1.3.6.1.5.5.7.3.3',
  'email protection': '1.3.6.1.5.5.7.3.4',
  's/mime': '1.3.6.1.5.5.7.3.4',
  'ipsec end system': '1.3.6.1.5.5.7.3.5',
  'ipsec tunnel': '1.3.6.1.5.5.7.3.6',
  'ipsec user': '1.3.6.1.5.5.7.3.7',
  timestamping: '1.3.6.1.5.5.7.3.8',
  'ocsp signing': '1.3.6.1.5.5.7.3.9',
  'microsoft sgc': '1.3.6.1.4.1.311.10.3.3',
  'netscape sgc': '2.16.840.1.113730.4.1',
};

export const KEY_USAGES: ReadonlySet<string> = new Set([...Object.keys(KEY_USAGE_BITS), ...Object.keys(EXTENDED_KEY_USAGE_OIDS)]);

/** The key usage flags and extended key usage OIDs for a list of cert-manager usages. */
export function x509Usages(usages: readonly string[]): { flags: number; extended: string[] } {
  let flags = 0;
  const extended: string[] = [];
  for (const usage of usages) {
    const bit = KEY_USAGE_BITS[usage];
    if (bit !== undefined) flags |= bit;
    const oid = EXTENDED_KEY_USAGE_OIDS[usage];
    if (oid !== undefined && !extended.includes(oid)) extended.push(oid);
  }
  return { flags, extended };
}
