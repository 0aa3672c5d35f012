import type { ExchangeSettings } from './google-tokens.js';

/** The driver's `--gcp-*` flags that decide the exchange (cli's GcpConfig extends this). */
export interface ExchangeFlags {
  /** `//iam.googleapis.com/projects/<n>/locations/global/workloadIdentityPools/<pool>/providers/<p>` (workload identity federation), or '' */
  readonly workloadIdentityProvider: string;
  /** `projects/<p>/locations/<l>/clusters/<c>` (GKE workload identity), or '' */
  readonly gkeCluster: string;
  /** The audience of the pod tokens to exchange ('' = the form's default). */
  readonly audience: string;
  readonly stsEndpoint: string;
  readonly identityBindingEndpoint: string;
  readonly gkeIdentityProviderBase: string;
  readonly iamCredentialsEndpoint: string;
  readonly tokenLifetimeSeconds: number;
}

/**
 * Which exchange, with which audiences:
 * - workload identity federation: STS `<sts>/v1/token`, `audience` = the provider's full name
 *   `//iam.googleapis.com/projects/<n>/locations/global/workloadIdentityPools/<pool>/providers/<p>`;
 *   the pod token's audience defaults to the provider's default allowed audience, which is the
 *   same name prefixed with `https:`.
 * - GKE: the identity binding endpoint, `audience` = `identitynamespace:<project>.svc.id.goog:
 *   <container API>/projects/<p>/locations/<l>/clusters/<c>`; the pod token's audience is the
 *   workload pool `<project>.svc.id.goog`.
 */
export function exchangeSettings(flags: ExchangeFlags): ExchangeSettings {
  const common = { iamCredentialsEndpoint: flags.iamCredentialsEndpoint, tokenLifetimeSeconds: flags.tokenLifetimeSeconds };
  if (flags.workloadIdentityProvider !== '') {
    return {
      ...common,
      form: 'federation',
      exchangeUrl: `${flags.stsEndpoint.replace(/\/+$/, '')}/v1/token`,
      stsAudience: flags.workloadIdentityProvider,
      tokenAudience: flags.audience !== '' ? flags.audience : `https:${flags.workloadIdentityProvider}`,
    };
  }
  const project = /^projects\/([^/]+)\//.exec(flags.gkeCluster)?.[1] ?? '';
  const pool = `${project}.svc.id.goog`;
  return {
    ...common,
    form: 'gke',
    exchangeUrl: flags.identityBindingEndpoint,
    stsAudience: `identitynamespace:${pool}:${flags.gkeIdentityProviderBase.replace(/\/+$/, '')}/${flags.gkeCluster}`,
    tokenAudience: flags.audience !== '' ? flags.audience : pool,
  };
}
