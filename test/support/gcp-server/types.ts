/** What the GCP test server is configured with, what it records and which faults it can play. */

export interface GcpTestServerOptions {
  /** The test clock (ms since epoch): token lifetimes and JWT times are judged on it. */
  readonly now: () => number;
  /** The kubelet simulator's JWKS: the identity provider's keys (the cluster's issuer). */
  readonly jwksUrl: string;
  /** Lifetime of federated tokens (`expires_in`); STS's default is one hour. */
  readonly federatedTokenSeconds?: number;
}

/** A workload identity pool provider for a cluster's service-account issuer. */
export interface PoolProvider {
  readonly projectNumber: string;
  readonly pool: string;
  readonly provider: string;
  /** Allowed audiences; empty: the default `https://iam.googleapis.com/projects/.../providers/<p>`. */
  readonly allowedAudiences?: readonly string[];
}

/** A GKE cluster with workload identity: pool `<project>.svc.id.goog`. */
export interface GkeCluster {
  readonly project: string;
  readonly projectNumber: string;
  readonly location: string;
  readonly name: string;
}

/** Which API a request was for. */
export type EndpointKind = 'sts' | 'gke' | 'iam' | 'access';

export interface RequestRecord {
  readonly at: number;
  readonly kind: EndpointKind;
  readonly status: number;
  /** The secret version name for `access`, the service account for `iam`. */
  readonly resource: string;
  /** For `access`: `global` or the regional endpoint's location. */
  readonly endpoint: string;
}

export type Fault =
  /** 429 RESOURCE_EXHAUSTED with a google.rpc.RetryInfo detail. */
  | { readonly kind: 'rate-limited'; readonly retryDelaySeconds: number; readonly on?: readonly EndpointKind[] }
  /** 503 UNAVAILABLE; with `retryAfterSeconds`, a `Retry-After` header (and no RetryInfo), as a front end sends it. */
  | { readonly kind: 'unavailable'; readonly retryAfterSeconds?: number; readonly on?: readonly EndpointKind[] }
  /** The connection is dropped without an answer. */
  | { readonly kind: 'down'; readonly on?: readonly EndpointKind[] }
  /** Secret Manager answers with a payload whose dataCrc32c does not match. */
  | { readonly kind: 'corrupt-checksum' }
  /** Secret Manager answers 200 with the version's name but no `payload` (a broken answer). */
  | { readonly kind: 'no-payload' };
