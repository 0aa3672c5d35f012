/**
 * The public types of the Vault test server: options, roles, faults and the request log.
 * Field names follow Vault's API parameters (camelCase here, snake_case on the wire).
 */
import type { JSONWebKeySet } from 'jose';
import type { Now } from './time.js';

/** What a request was for; `counts()` reports one number per kind. */
export type EndpointKind =
  /** `auth/<mount>/login` */
  | 'login'
  /** KV v1 or v2 reads (`<kv1>/<path>`, `<kv2>/data/<path>`) */
  | 'kv'
  /** dynamic credentials (`database/creds/<role>`) */
  | 'creds'
  /** lease renewal (`sys/leases/renew`, `sys/renew`) */
  | 'renew'
  /** lease revocation (`sys/leases/revoke`, `sys/revoke`) */
  | 'revoke'
  /** `auth/token/*` (renew-self, lookup-self) */
  | 'token'
  /** PKI issue/sign (`pki/issue/<role>`, `pki/sign/<role>`) */
  | 'pki'
  /** other `sys/*` paths (health, seal-status) */
  | 'sys'
  /** anything else, including unknown paths and non-`/v1/` requests */
  | 'other';

export const ENDPOINT_KINDS: readonly EndpointKind[] = ['login', 'kv', 'creds', 'renew', 'revoke', 'token', 'pki', 'sys', 'other'];

/** One request as the server saw it. */
export interface RequestRecord {
  readonly method: string;
  /** The URL path without the query string, as sent (`/v1/secret/data/app`). */
  readonly path: string;
  readonly kind: EndpointKind;
  /** Whether `X-Vault-Token` (or `Authorization: Bearer`) was present. */
  readonly tokenSent: boolean;
  /** The `X-Vault-Namespace` header, if any. */
  readonly namespace: string | undefined;
  /** Arrival time on the server clock (ms). */
  readonly at: number;
  /** The HTTP status answered; 0 while unanswered or when the connection was dropped. */
  status: number;
}

interface FaultScope {
  /** Only requests of these kinds are affected (default: all). */
  readonly only?: readonly EndpointKind[];
  /** Affect this many matching requests, then clear the fault (default: until cleared). */
  readonly times?: number;
}

/** A failure mode tests switch on with `setFault`. */
export type Fault = FaultScope &
  (
    | { readonly kind: 'sealed' }
    /** A standby that cannot forward: 307 to `activeAddress` (same path and query) or, without one, 503. */
    | { readonly kind: 'standby'; readonly activeAddress?: string }
    /** Serves every request (reads locally, writes forwarded); only `sys/health` differs (473). */
    | { readonly kind: 'perf-standby' }
    /**
     * `reset`: the connection is closed without an answer (client sees a socket error);
     * `refuse`: the listener is closed, so connections are refused (ignores `only`/`times`).
     */
    | { readonly kind: 'down'; readonly mode?: 'reset' | 'refuse' }
    /** 429 with `Retry-After` (seconds, default 1) and Vault's quota message. */
    | { readonly kind: 'rate-limited'; readonly retryAfterSeconds?: number }
    /** Answer normally after `delayMs`. */
    | { readonly kind: 'slow'; readonly delayMs: number }
    /** A server error: `status` (default 500) with `{"errors":[message]}` (default `internal error`). */
    | { readonly kind: 'error'; readonly status?: number; readonly message?: string }
  );

/** Where an auth mount finds the keys that sign pod tokens. */
export interface KeySource {
  /** A JWKS URL, e.g. the kubelet simulator's `/openid/v1/jwks`. */
  readonly jwksUrl?: string;
  /** An inline key set (tests that make their own key). */
  readonly jwks?: JSONWebKeySet;
}

/** `auth/<mount>/config` of a Kubernetes auth mount. */
export interface KubernetesAuthConfig extends KeySource {
  /** Checked against `iss` only when set (Vault's `disable_iss_validation` defaults to true). */
  readonly issuer?: string;
}

/** `auth/<mount>/config` of a JWT auth mount. */
export interface JwtAuthConfig extends KeySource {
  /** `bound_issuer`: checked against `iss` when set. */
  readonly boundIssuer?: string;
}

/** Token fields common to auth roles (Vault's `token_*` parameters). */
export interface TokenRoleFields {
  /** Policy names (see `addPolicy`); `default` is always added. */
  readonly policies?: readonly string[];
  /** `token_ttl`; 0/absent → the system default (768h). */
  readonly tokenTtlSeconds?: number;
  /** `token_max_ttl`; 0/absent → the system maximum (768h). */
  readonly tokenMaxTtlSeconds?: number;
}

/** `auth/kubernetes/role/:name` */
export interface KubernetesRoleOptions extends TokenRoleFields {
  /** Names, globs or `*`. */
  readonly boundServiceAccountNames: readonly string[];
  /** Namespaces, globs or `*`. */
  readonly boundServiceAccountNamespaces: readonly string[];
  /** When set, must be one of the token's `aud`. */
  readonly audience?: string;
}

/** `auth/jwt/role/:name` (role_type `jwt`) */
export interface JwtRoleOptions extends TokenRoleFields {
  /** The claim that names the user (e.g. `sub`); a leading `/` makes it a JSON pointer. */
  readonly userClaim: string;
  readonly boundAudiences?: readonly string[];
  readonly boundSubject?: string;
  /** Claim (name or JSON pointer like `/kubernetes.io/namespace`) → accepted value(s). */
  readonly boundClaims?: Readonly<Record<string, string | readonly string[]>>;
  /** `string` (exact, default) or `glob`. */
  readonly boundClaimsType?: 'string' | 'glob';
  /** Claim → token metadata key. */
  readonly claimMappings?: Readonly<Record<string, string>>;
  /** Default 60 s, as Vault's. */
  readonly clockSkewLeewaySeconds?: number;
}

/** `database/roles/:name` (only what the test server uses). */
export interface DatabaseRoleOptions {
  /** `default_ttl`; absent → the system default (768h). */
  readonly ttlSeconds?: number;
  /** `max_ttl`; absent → the system maximum (768h). */
  readonly maxTtlSeconds?: number;
}

/** `pki/roles/:name` (Vault's defaults unless noted). */
export interface PkiRoleOptions {
  readonly allowedDomains?: readonly string[];
  readonly allowSubdomains?: boolean;
  readonly allowBareDomains?: boolean;
  readonly allowGlobDomains?: boolean;
  /** Vault's default is false; here it defaults to true when `allowedDomains` is absent. */
  readonly allowAnyName?: boolean;
  readonly allowLocalhost?: boolean;
  readonly allowIpSans?: boolean;
  /** Globs; absent → URI SANs are refused. */
  readonly allowedUriSans?: readonly string[];
  readonly requireCn?: boolean;
  readonly ttlSeconds?: number;
  readonly maxTtlSeconds?: number;
  /** Key generated by `issue`: `rsa` (default, 2048 bits), `ec` (256), `ed25519`. */
  readonly keyType?: 'rsa' | 'ec' | 'ed25519';
  readonly keyBits?: number;
}

/** TLS listener settings. */
export interface TlsOptions {
  /** Require a client certificate signed by the server's client CA (`tls_require_and_verify_client_cert`). */
  readonly requireClientCert?: boolean;
  /** Extra DNS names for the server certificate (always has `localhost` and IP `127.0.0.1`). */
  readonly dnsNames?: readonly string[];
}

export interface VaultTestServerOptions {
  /** The server clock (ms): token/lease expiry, KV `created_time`, certificate validity. */
  readonly now?: Now;
  /** Serve HTTPS with generated certificates. */
  readonly tls?: boolean | TlsOptions;
  /** Serve only inside this Vault Enterprise namespace (e.g. `ns1`). */
  readonly namespace?: string;
  /** Key source for auth mounts that have none of their own. */
  readonly jwksUrl?: string;
  readonly jwks?: JSONWebKeySet;
  /** `default_lease_ttl` and `max_lease_ttl` of every mount; Vault's default is 768h. */
  readonly defaultLeaseTtlSeconds?: number;
  readonly maxLeaseTtlSeconds?: number;
  /** Answer bad tokens with `permission denied` only, as Vault did before 1.17. */
  readonly legacyInvalidTokenMessage?: boolean;
  /** Reported by `sys/health`. */
  readonly version?: string;
}
