import { createHash, X509Certificate } from 'node:crypto';
import { Errors } from '../../errors/catalogue.js';
import type { FetchRequest, FetchResult, ParsedParameters, PodIdentity, ProvidedFile, Provider } from '../provider.js';
import { parseCertificateAttributes, type AttributeDefaults } from './attributes.js';
import type { CertificateSpec, SignerKind } from './certificate-spec.js';
import type { NodeKey } from './key-material.js';
import type { Signer } from './signers/signer.js';

export const CERTIFICATES_PROVIDER_NAME = 'certificates';

export interface CertificatesProviderOptions {
  readonly defaults: AttributeDefaults;
  /** Make a signer the first time a volume needs it (each loads its own libraries lazily). */
  readonly signers: { readonly [K in SignerKind]?: () => Promise<Signer> };
  /** The provider's clock for the development CA's own validity. */
  readonly now?: () => Date;
}

/** Loaded on the first certificate: @peculiar/x509 and the key code are not needed to parse attributes. */
type Tools = {
  readonly keys: typeof import('./key-material.js');
  readonly csr: typeof import('./csr.js');
};

/**
 * Short-lived certificates with cert-manager csi-driver's attributes. Per fetch:
 * 1. a private key made on the node (or the volume's previous one with reuse-private-key);
 * 2. a CSR for the volume's names and usages, signed with it;
 * 3. the CSR signed by cert-manager (a CertificateRequest as the pod), Vault PKI (as the pod) or
 *    the development CA;
 * 4. a check that the certificate carries our public key (so key and certificate always match
 *    when volumes/ swaps them in together), then the files and the renewal time: `renew-before`
 *    before NotAfter, or 2/3 of the lifetime, as csi-driver computes it.
 */
export class CertificatesProvider implements Provider<CertificateSpec> {
  readonly name = CERTIFICATES_PROVIDER_NAME;
  private readonly signers = new Map<SignerKind, Promise<Signer>>();
  /** Keys kept for reuse-private-key volumes, in memory only. */
  private readonly keptKeys = new Map<string, NodeKey>();
  private tools: Promise<Tools> | undefined;
  private closed = false;

  constructor(private readonly options: CertificatesProviderOptions) {}

  parse(parameters: Readonly<Record<string, string>>, identity: PodIdentity): ParsedParameters<CertificateSpec> {
    const value = parseCertificateAttributes(parameters, identity, this.options.defaults);
    if (this.options.signers[value.signer] === undefined) {
      throw Errors.parameterInvalid('csi.cert-manager.io/issuer-group', `this driver has no ${value.signer} signer configured (issuer ${value.issuer.group}/${value.issuer.kind})`);
    }
    // Private keys are per pod: nothing is ever shared between volumes.
    return { value, audiences: value.audience === undefined ? [] : [value.audience], scope: 'pod' };
  }

  async fetch(request: FetchRequest<CertificateSpec>): Promise<FetchResult> {
    if (this.closed) throw Errors.backendUnavailable('certificates provider', 'it has been closed');
    const spec = request.parameters;
    const tools = await this.loadTools();
    request.signal.throwIfAborted();

    // 1. the key
    const kept = spec.reusePrivateKey ? this.keptKeys.get(request.volumeId) : undefined;
    const key = kept !== undefined && kept.algorithm === spec.keyAlgorithm && kept.size === spec.keySize ? kept : await tools.keys.generateNodeKey(spec.keyAlgorithm, spec.keySize);
    // 2. the request
    const csr = await tools.csr.createCsr(spec, key);
    // 3. the signature
    const signer = await this.signer(spec.signer);
    const signed = await signer.sign({ volumeId: request.volumeId, spec, csr, csrPem: tools.csr.csrPem(csr), identity: request.identity, tokens: request.tokens, now: request.now, signal: request.signal });
    // 4. check, then build the files
    // node's own (OpenSSL) parser: the check runs on every issuance and is ~50× faster than @peculiar/x509's
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(firstPem(signed.chainPem));
    } catch {
      throw Errors.backendUnavailable(`the ${spec.signer} signer`, 'it returned something that is not a PEM certificate');
    }
    const notBefore = new Date(leaf.validFrom);
    const notAfter = new Date(leaf.validTo);
    if (!leaf.publicKey.export({ type: 'spki', format: 'der' }).equals(tools.keys.publicKeyDer(key))) {
      throw Errors.backendRejected(`the ${spec.signer} signer`, 'the certificate it returned is not for the private key made for this volume; nothing was written');
    }
    const nowMs = request.now.getTime();
    if (Number.isNaN(notAfter.getTime()) || notAfter.getTime() <= nowMs) throw Errors.backendRejected(`the ${spec.signer} signer`, `the certificate it returned is not valid now (NotAfter ${leaf.validTo})`);
    // An abandoned fetch (deadline passed; the volume may be unpublished and released by now)
    // must not put its key back into the map, where nothing would ever remove it.
    request.signal.throwIfAborted();
    if (spec.reusePrivateKey) this.keptKeys.set(request.volumeId, key);

    const mode = spec.fsGroup === undefined ? 0o644 : 0o640;
    const keyPem = tools.keys.privateKeyPem(key, spec.keyEncoding);
    const files: ProvidedFile[] = [
      { path: spec.files.privateKey, content: utf8(keyPem), mode },
      { path: spec.files.certificate, content: utf8(signed.chainPem), mode },
      { path: spec.files.ca, content: utf8(signed.caPem), mode },
    ];
    if (spec.files.pkcs12 !== undefined) {
      // The ASN.1 schemas for PKCS#12 load only for volumes that ask for a keystore.
      const { createPkcs12 } = await import('./pkcs12.js');
      files.push({ path: spec.files.pkcs12.file, content: createPkcs12(tools.keys.privateKeyDer(key), pemBlocks(signed.chainPem), spec.files.pkcs12.password), mode });
    }
    const refreshAt = new Date(renewalTime(notBefore.getTime(), notAfter.getTime(), nowMs, spec.renewBeforeMs));
    return {
      files,
      // The serial names this certificate; the CA's fingerprint makes a rotated trust bundle a new version too.
      versions: { certificate: leaf.serialNumber.toLowerCase(), ca: createHash('sha256').update(signed.caPem).digest('hex').slice(0, 16) },
      refreshAt,
      expiresAt: notAfter,
      // csi-lib chowns the files to fs-group; here the writer does, with the tmpfs root.
      ...(spec.fsGroup === undefined ? {} : { fileGroup: spec.fsGroup }),
    };
  }

  release(volumeId: string): void {
    this.keptKeys.delete(volumeId);
    for (const signer of this.signers.values()) void signer.then((s) => s.release?.(volumeId)).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const signers = await Promise.allSettled(this.signers.values());
    await Promise.all(signers.map((s) => (s.status === 'fulfilled' ? s.value.close?.() : undefined)));
  }

  private signer(kind: SignerKind): Promise<Signer> {
    let signer = this.signers.get(kind);
    if (signer === undefined) {
      const factory = this.options.signers[kind];
      if (factory === undefined) throw Errors.internal(`no ${kind} signer`);
      signer = factory();
      signer.catch(() => this.signers.delete(kind));
      this.signers.set(kind, signer);
    }
    return signer;
  }

  private loadTools(): Promise<Tools> {
    this.tools ??= Promise.all([import('./key-material.js'), import('./csr.js')]).then(([keys, csr]) => ({ keys, csr }));
    this.tools.catch(() => {
      this.tools = undefined;
    });
    return this.tools;
  }
}

/**
 * csi-driver's `calculateNextIssuanceTime`: NotAfter − renew-before, unless that is not after
 * NotBefore (then the default); default NotAfter − lifetime/3, i.e. at 2/3 of the lifetime.
 * The lifetime counts from issuance (now), not from a back-dated NotBefore: with minutes-long
 * certificates 30 s of back-dating would otherwise pull renewal well before 2/3.
 */
export function renewalTime(notBeforeMs: number, notAfterMs: number, nowMs: number, renewBeforeMs: number | undefined): number {
  const start = Math.max(notBeforeMs, Math.min(nowMs, notAfterMs));
  const lifetime = notAfterMs - start;
  if (renewBeforeMs !== undefined && start + renewBeforeMs < notAfterMs) return notAfterMs - renewBeforeMs;
  return notAfterMs - Math.floor(lifetime / 3);
}

function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function firstPem(pem: string): string {
  const first = pemBlocks(pem)[0];
  if (first === undefined) throw new Error('no certificate');
  return first;
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

