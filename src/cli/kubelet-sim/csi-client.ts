import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadCsiServices } from '../../csi/csi-proto.js';

/** A CSI call's failure as kubelet would see it: the gRPC code name, the message, our error code. */
export class CsiCallError extends Error {
  override readonly name = 'CsiCallError';
  constructor(
    readonly method: string,
    readonly grpcCode: number,
    readonly codeName: string,
    readonly details: string,
    readonly errorCode: string | undefined,
  ) {
    super(`${method}: ${codeName}: ${details}`);
  }
}

/** The name of a gRPC status code (`INVALID_ARGUMENT` for 3), or the number if it has none. */
export function grpcCodeName(code: number): string {
  return CODE_NAMES[code] ?? String(code);
}

const CODE_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

type UnaryMethod = (request: unknown, metadata: Metadata, options: { deadline: Date }, callback: (error: ServiceError | null, response: unknown) => void) => void;

/** What the kubelet simulator needs of a client for a CSI plugin's Identity and Node services. */
export interface CsiCaller {
  identityCall<T = Record<string, unknown>>(method: string, request?: object, deadlineMs?: number): Promise<T>;
  /** Resolves with the decoded response; rejects with a CsiCallError when the plugin answers an error. */
  nodeCall<T = Record<string, unknown>>(method: string, request?: object, deadlineMs?: number): Promise<T>;
  /** Wait until the plugin's Probe answers ready (or the deadline passes). */
  waitUntilReady(timeoutMs?: number): Promise<void>;
  close(): void;
}

/** A CsiCaller over one unary-call primitive: the defaults every client shares (kubelet's 2-minute deadline). */
export abstract class UnaryCsiCaller implements CsiCaller {
  identityCall<T = Record<string, unknown>>(method: string, request: object = {}, deadlineMs = 120_000): Promise<T> {
    return this.unary('identity', method, request, deadlineMs);
  }

  nodeCall<T = Record<string, unknown>>(method: string, request: object = {}, deadlineMs = 120_000): Promise<T> {
    return this.unary('node', method, request, deadlineMs);
  }

  /** Ask Probe every 50 ms until the plugin answers ready (an absent `ready` means ready, as in the spec). */
  async waitUntilReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const response = await this.identityCall<{ ready?: { value?: boolean } | null }>('Probe', {}, 2_000);
        if (response.ready?.value !== false) return;
      } catch (error) {
        last = error;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the CSI plugin did not become ready within ${timeoutMs} ms${last instanceof Error ? `: ${last.message}` : ''}`);
  }

  abstract close(): void;

  /** One unary call; rejects with a CsiCallError when the plugin answers an error. */
  protected abstract unary<T>(service: 'identity' | 'node', method: string, request: object, deadlineMs: number): Promise<T>;
}

/**
 * A client for any CSI node plugin's Identity and Node services on a unix socket, as kubelet and
 * the sidecars use them. Every call has kubelet's 2-minute deadline unless told otherwise.
 */
export class CsiClient extends UnaryCsiCaller {
  private constructor(
    private readonly identity: Client,
    private readonly node: Client,
  ) {
    super();
  }

  static connect(endpoint: string): CsiClient {
    const services = loadCsiServices();
    const target = endpoint.startsWith('unix:') ? endpoint : `unix:${endpoint}`;
    // A subchannel pool of the client's own: from grpc-js's global pool, a new client to the same
    // socket gets any open client's connection, and the simulator's per-call connections
    // (kubelet's) would not be new ones.
    const options = { 'grpc.max_receive_message_length': 16 * 1024 * 1024, 'grpc.use_local_subchannel_pool': 1 };
    return new CsiClient(new services.Identity(target, credentials.createInsecure(), options), new services.Node(target, credentials.createInsecure(), options));
  }

  close(): void {
    this.identity.close();
    this.node.close();
  }

  protected unary<T>(service: 'identity' | 'node', method: string, request: object, deadlineMs: number): Promise<T> {
    const client = service === 'identity' ? this.identity : this.node;
    const fn = (client as unknown as Record<string, UnaryMethod>)[method];
    if (fn === undefined) return Promise.reject(new Error(`no such CSI method ${method}`));
    return new Promise<T>((resolve, reject) => {
      fn.call(client, request, new Metadata(), { deadline: new Date(Date.now() + deadlineMs) }, (error, response) => {
        if (error !== null) {
          const code = error.metadata?.get('credmount-error-code')[0];
          reject(new CsiCallError(method, error.code, grpcCodeName(error.code), error.details, typeof code === 'string' ? code : undefined));
        } else {
          resolve(response as T);
        }
      });
    });
  }
}
