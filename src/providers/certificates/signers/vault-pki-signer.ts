import { Errors } from '../../../errors/catalogue.js';
import { isCredmountError } from '../../../errors/credmount-error.js';
import { vaultRequest, VaultHttpError, type VaultResponse } from '../../vault/vault-http.js';
import { VaultLogins, type LoginTarget } from '../../vault/vault-login.js';
import { NO_TLS_OPTIONS, VaultAgents } from '../../vault/vault-tls.js';
import type { SignedCertificate, SignInput, Signer } from './signer.js';

export interface VaultPkiSignerOptions {
  /** CA file for Vault's TLS (the driver's --vault-ca-cert), if any. */
  readonly caCertPath: string | undefined;
  /** Auth mounts whose logins all pods of a service account share (--vault-shared-login-mounts). */
  readonly sharedLoginMounts: readonly string[];
  /** The `vault` provider's login cache, when it is loaded too: one Vault login per identity, not two. */
  readonly logins?: VaultLogins | undefined;
}

/**
 * Vault PKI `sign/<role>` as the pod: log in with the pod's service-account token (the Vault
 * provider's login cache, renew-self and all), then send only the CSR. Vault takes the CN and
 * SANs from the CSR (`use_csr_common_name`/`use_csr_sans` default to true for sign) and the
 * role decides what it allows. API: docs/vault-api.md, "PKI".
 */
export class VaultPkiSigner implements Signer {
  private readonly logins: VaultLogins;
  private readonly agents = new VaultAgents();

  constructor(private readonly options: VaultPkiSignerOptions) {
    this.logins = options.logins ?? new VaultLogins({ sharedLoginMounts: options.sharedLoginMounts });
  }

  async sign(input: SignInput): Promise<SignedCertificate> {
    const vault = input.spec.vault;
    if (vault === undefined) throw Errors.internal('Vault signer without Vault settings');
    const jwt = input.tokens.get(vault.audience);
    if (jwt === undefined) throw Errors.tokenAudienceMissing(vault.audience, [...input.tokens.keys()]);
    const nowMs = input.now.getTime();
    // The same TLS options (and so the same login-cache key) as a `vault` volume with no TLS attributes.
    const tls = { ...NO_TLS_OPTIONS, caCertPath: this.options.caCertPath };
    const agent = await this.agents.get(tls, nowMs).catch((error: unknown) => {
      throw Errors.backendUnavailable(`Vault at ${vault.address}`, `its TLS files could not be read: ${error instanceof Error ? error.message : String(error)}`);
    });
    const target: LoginTarget = { address: vault.address, namespace: undefined, mountPath: vault.authMountPath, role: vault.loginRole, audience: vault.audience, tlsKey: JSON.stringify(tls), agent };
    const what = `Vault PKI ${vault.pkiMount}/sign/${vault.role}`;
    const call = async (retry: boolean): Promise<VaultResponse> => {
      const session = await this.logins.session(target, input.identity, jwt, nowMs, input.signal);
      try {
        return await vaultRequest({
          address: vault.address,
          method: 'POST',
          path: `${vault.pkiMount}/sign/${vault.role}`,
          token: session.token,
          body: { csr: input.csrPem, ttl: `${Math.floor(input.spec.durationMs / 1000)}s`, format: 'pem' },
          agent,
          signal: input.signal,
          what,
        });
      } catch (error) {
        // A cached Vault token that died (revoked, expired early): log in again once.
        if (retry && error instanceof VaultHttpError && error.status === 403 && !session.fresh && !(await this.logins.isAlive(target, session, input.signal))) {
          this.logins.forget(target, input.identity, jwt, session);
          return call(false);
        }
        throw error;
      }
    };
    let response: VaultResponse;
    try {
      response = await call(true);
    } catch (error) {
      if (error instanceof VaultHttpError) throw error.credmountError;
      if (isCredmountError(error)) throw error;
      throw error;
    }
    return chainFromResponse(response, what, vault.address);
  }

  async close(): Promise<void> {
    await this.agents.close();
  }
}

/**
 * `data.certificate` is the leaf; `data.ca_chain` is the issuing CA and its parents up to the
 * root (`issuing_ca` alone on older Vaults). The pod gets the leaf plus intermediates as its
 * chain, and the last (top-most) CA as its trust bundle.
 */
export function chainFromResponse(response: VaultResponse, what: string, address: string): SignedCertificate {
  const data = (typeof response.data === 'object' && response.data !== null ? response.data : {}) as Record<string, unknown>;
  const certificate = data['certificate'];
  if (typeof certificate !== 'string' || !certificate.includes('BEGIN CERTIFICATE')) throw Errors.backendUnavailable(`Vault at ${address}`, `${what}: the answer has no PEM data.certificate`);
  const chain = Array.isArray(data['ca_chain']) ? data['ca_chain'].filter((c): c is string => typeof c === 'string' && c.includes('BEGIN CERTIFICATE')) : [];
  const cas = chain.length > 0 ? chain : typeof data['issuing_ca'] === 'string' ? [data['issuing_ca']] : [];
  if (cas.length === 0) throw Errors.backendUnavailable(`Vault at ${address}`, `${what}: the answer has neither ca_chain nor issuing_ca`);
  const pem = (text: string) => `${text.trim()}\n`;
  return { chainPem: [certificate, ...cas.slice(0, -1)].map(pem).join(''), caPem: pem(cas[cas.length - 1] as string) };
}
