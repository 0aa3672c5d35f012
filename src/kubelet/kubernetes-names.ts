/**
 * Kubernetes name rules, as the API server validates them (k8s.io/apimachinery validation):
 * kubelet only ever sends names that passed these, so anything else did not come from kubelet.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL_MAX = 63;
const DNS1123_SUBDOMAIN_MAX = 253;

/** UIDs the API server assigns (RFC 4122 text form). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Static (file/URL) pods get a hex MD5 of their manifest as UID instead of a UUID. */
const STATIC_POD_UID = /^[0-9a-f]{32}$/i;

/** Namespaces are DNS-1123 labels. */
export function isDns1123Label(value: string): boolean {
  return value.length <= DNS1123_LABEL_MAX && DNS1123_LABEL.test(value);
}

/** Pod and service-account names are DNS-1123 subdomains: dot-separated labels, at most 253 characters. */
export function isDns1123Subdomain(value: string): boolean {
  if (value.length === 0 || value.length > DNS1123_SUBDOMAIN_MAX) return false;
  return value.split('.').every((label) => DNS1123_LABEL.test(label));
}

/** A pod UID: a UUID, or the 32-hex-digit UID of a static pod. Either way safe as a path segment. */
export function isPodUid(value: string): boolean {
  return UUID.test(value) || STATIC_POD_UID.test(value);
}

/** Quote a value for an error message, cut short so that a pasted blob cannot flood the message. */
export function quoteForMessage(value: string, max = 80): string {
  return value.length <= max ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, max))}… (${value.length} characters)`;
}
