import { Errors } from '../../../errors/catalogue.js';
import { formatGoDuration } from '../go-duration.js';
import { CR_GROUP, CR_VERSION, requestState, type CertificateRequestObject } from '../cert-manager/certificate-request.js';
import { CertificateRequestClient, type KubeApiOptions } from '../cert-manager/kube-client.js';
import type { SignedCertificate, SignInput, Signer } from './signer.js';

export interface CertManagerSignerOptions extends KubeApiOptions {
  /** First wait between status reads; it grows 1.5× up to `maxPollMs`. */
  readonly pollMs?: number;
  readonly maxPollMs?: number;
}

/** Annotation naming the volume a request belongs to (a hash-like id, not pod data). */
export const VOLUME_ANNOTATION = 'credmount.dev/volume-id';

/** How long the clean-up of a finished or abandoned CertificateRequest may take. */
const DELETE_TIMEOUT_MS = 10_000;

/**
 * cert-manager as the signer: a CertificateRequest in the pod's namespace, created, read and
 * deleted with the pod's own empty-audience token, so cert-manager's approvers (approver-policy)
 * and RBAC judge the pod. The steps, per CSR:
 * 1. wait for the volume's previous request to settle (one request in flight per volume);
 * 2. create the request (spec.request = base64 PEM CSR, issuerRef, duration, usages, isCA);
 * 3. read its status until Ready=True (status.certificate, status.ca), Denied, InvalidRequest or
 *    Ready=False/Failed — or until the fetch is abandoned;
 * 4. delete it, whatever the outcome (the private key never left the node; the request only
 *    held the CSR and the certificate).
 */
export class CertManagerSigner implements Signer {
  private readonly client: CertificateRequestClient;
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(private readonly options: CertManagerSignerOptions) {
    this.client = new CertificateRequestClient(options);
  }

  async sign(input: SignInput): Promise<SignedCertificate> {
    // 1. one request per volume at a time: queue behind the volume's last request synchronously,
    //    so that a third caller waits for the second and not only for the first.
    const previous = this.inFlight.get(input.volumeId);
    const work = (previous === undefined ? Promise.resolve() : previous.catch(() => undefined)).then(() => this.request(input));
    this.inFlight.set(input.volumeId, work);
    try {
      return await work;
    } finally {
      if (this.inFlight.get(input.volumeId) === work) this.inFlight.delete(input.volumeId);
    }
  }

  private async request(input: SignInput): Promise<SignedCertificate> {
    const token = input.tokens.get('');
    if (token === undefined) throw Errors.tokenAudienceMissing('', [...input.tokens.keys()]);
    const { spec, identity } = input;
    const namespace = identity.namespace;
    // 2. create, as the pod
    const body: CertificateRequestObject = {
      apiVersion: `${CR_GROUP}/${CR_VERSION}`,
      kind: 'CertificateRequest',
      metadata: {
        // a DNS subdomain: the cut must not leave a label ending in "." or "-"
        generateName: `${identity.podName.slice(0, 40).replace(/[.-]+$/, '')}-`,
        namespace,
        annotations: { ...spec.annotations, [VOLUME_ANNOTATION]: input.volumeId, 'credmount.dev/pod-uid': identity.podUid },
        labels: { 'app.kubernetes.io/managed-by': 'credmount' },
      },
      spec: {
        request: Buffer.from(input.csrPem).toString('base64'),
        issuerRef: { ...spec.issuer },
        duration: formatGoDuration(spec.durationMs),
        usages: [...spec.keyUsages],
        isCA: spec.isCA,
      },
    };
    input.signal.throwIfAborted();
    const created = await this.client.create(namespace, body, token.token, input.signal);
    const name = created.metadata.name;
    if (name === undefined || name === '') throw Errors.backendUnavailable('the Kubernetes API', 'the created CertificateRequest has no name');
    const what = `CertificateRequest ${namespace}/${name} (issuer ${spec.issuer.kind} ${JSON.stringify(spec.issuer.name)})`;
    try {
      // 3. wait for an outcome
      let current = created;
      let waitMs = this.options.pollMs ?? 200;
      for (;;) {
        const state = requestState(current);
        switch (state.kind) {
          case 'issued':
            // As csi-driver: ca.crt is status.ca, empty when the issuer does not set it.
            return { chainPem: ensureNewline(state.certificatePem), caPem: ensureNewline(state.caPem ?? '') };
          case 'denied':
            throw Errors.accessDenied(what, `cert-manager denied it: ${state.reason}`);
          case 'invalid':
            throw Errors.backendRejected(what, `invalid request: ${state.reason}`);
          case 'failed':
            throw Errors.backendRejected(what, `the issuer failed it: ${state.reason}`);
          case 'pending':
            break;
        }
        // The deadline may fall during a wait or during a read: the same error either way.
        const notReadyInTime = () => Errors.backendUnavailable(what, `not ready before the fetch deadline (${state.reason})`);
        await sleep(waitMs, input.signal).catch(() => {
          throw notReadyInTime();
        });
        waitMs = Math.min(waitMs * 1.5, this.options.maxPollMs ?? 2_000);
        current = await this.client.get(namespace, name, token.token, input.signal).catch((error: unknown) => {
          throw input.signal.aborted ? notReadyInTime() : error;
        });
      }
    } finally {
      // 4. finished, failed or abandoned: the request is not needed any more. Not on the fetch's
      //    signal, which may be what ended it: the clean-up has a time limit of its own.
      await this.client.delete(namespace, name, token.token, AbortSignal.timeout(DELETE_TIMEOUT_MS)).catch(() => undefined);
    }
  }
}

function ensureNewline(pem: string): string {
  return pem === '' || pem.endsWith('\n') ? pem : `${pem}\n`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
