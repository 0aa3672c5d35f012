/**
 * The parts of cert-manager's `CertificateRequest` (cert-manager.io/v1) credmount writes and
 * reads. Field names as in cert-manager's API reference; docs/cert-manager-api.md has the rest.
 */
export const CR_GROUP = 'cert-manager.io';
export const CR_VERSION = 'v1';
export const CR_PLURAL = 'certificaterequests';

export interface CertificateRequestCondition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
}

export interface CertificateRequestObject {
  readonly apiVersion: string;
  readonly kind: 'CertificateRequest';
  readonly metadata: {
    readonly name?: string;
    readonly generateName?: string;
    readonly namespace: string;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly labels?: Readonly<Record<string, string>>;
    readonly uid?: string;
  };
  readonly spec: {
    /** base64 of the PEM CSR. */
    readonly request: string;
    readonly issuerRef: { readonly name: string; readonly kind: string; readonly group: string };
    /** Go duration, e.g. `1h0m0s`. */
    readonly duration?: string;
    readonly usages?: readonly string[];
    readonly isCA?: boolean;
    /** Set by the API server's admission (cert-manager's webhook): who created it. */
    readonly username?: string;
  };
  readonly status?: {
    readonly conditions?: readonly CertificateRequestCondition[];
    /** base64 of the PEM chain, leaf first. */
    readonly certificate?: string;
    /** base64 of the PEM CA (may be absent: not every issuer knows it). */
    readonly ca?: string;
    readonly failureTime?: string;
  };
}

export type RequestState =
  | { readonly kind: 'issued'; readonly certificatePem: string; readonly caPem: string | undefined }
  | { readonly kind: 'denied' | 'invalid' | 'failed'; readonly reason: string }
  | { readonly kind: 'pending'; readonly reason: string };

/** What a CertificateRequest's status says, in the order cert-manager's own client checks it. */
export function requestState(object: CertificateRequestObject): RequestState {
  const conditions = object.status?.conditions ?? [];
  const find = (type: string) => conditions.find((c) => c.type === type);
  const explain = (c: CertificateRequestCondition | undefined, fallback: string) => (c === undefined ? fallback : [c.reason, c.message].filter((s) => s !== undefined && s !== '').join(': ') || fallback);
  const denied = find('Denied');
  if (denied?.status === 'True') return { kind: 'denied', reason: explain(denied, 'denied') };
  const invalid = find('InvalidRequest');
  if (invalid?.status === 'True') return { kind: 'invalid', reason: explain(invalid, 'invalid request') };
  const ready = find('Ready');
  if (ready?.status === 'False' && (ready.reason === 'Failed' || ready.reason === 'Denied')) return { kind: ready.reason === 'Denied' ? 'denied' : 'failed', reason: explain(ready, 'failed') };
  if (ready?.status === 'True' && typeof object.status?.certificate === 'string' && object.status.certificate !== '') {
    const ca = object.status.ca;
    return { kind: 'issued', certificatePem: fromBase64(object.status.certificate), caPem: ca === undefined || ca === '' ? undefined : fromBase64(ca) };
  }
  return { kind: 'pending', reason: explain(ready, 'no Ready condition yet') };
}

function fromBase64(text: string): string {
  return Buffer.from(text, 'base64').toString('utf8');
}
