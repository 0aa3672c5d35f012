import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as connectSocket } from 'node:net';
import type { MethodDefinition } from '@grpc/grpc-js';
import { CsiCallError, grpcCodeName, UnaryCsiCaller } from '../src/cli/kubelet-sim/csi-client.js';
import { loadCsiServices } from '../src/csi/csi-proto.js';

/** As kubelet's client (grpc-go) introduces itself; the driver does not look at it. */
const USER_AGENT = 'grpc-go/1.72.0';

type Methods = Record<string, MethodDefinition<object, unknown>>;

/**
 * The benchmarks' CSI client: unary gRPC calls written straight onto one HTTP/2 connection
 * (node:http2), with the messages encoded and decoded by the same protobufjs types as the driver
 * and CsiClient (src/csi/csi-proto.ts).
 *
 * Why not CsiClient (@grpc/grpc-js)? Kubelet's client is grpc-go, which does far less per call
 * than grpc-js's client (channel, resolver and load-balancer state, a filter stack, per-call
 * timers). Against the bare grpc-js server, warmed up, p50 round trips on this machine: grpc-go
 * 0.22–0.44 ms (a throwaway Go client with grpc-go 1.85, session 6), this caller 0.43–0.45 ms,
 * CsiClient 0.59–0.65 ms. Timing the driver through grpc-js's client would charge it with the
 * client's work; this caller still charges it with more than kubelet's. bench/README.md gives
 * both figures.
 *
 * What goes on the wire is what grpc-go sends for a unary call (gRPC over HTTP/2, "PROTOCOL-HTTP2"
 * in the grpc/grpc repository): a POST with `content-type: application/grpc`, `te: trailers` and
 * the deadline as `grpc-timeout`, one length-prefixed uncompressed message; the answer is the
 * status in the trailers (or in the headers of a trailers-only response), with the message in
 * between.
 *
 * And what grpc-go does on the connection around it (a proxy's frame log of a grpc-go 1.85 client,
 * bench/README.md session 12), since with kubelet's connection per call the server pays for each
 * frame: the request waits until the server's SETTINGS have arrived (grpc-go's transport is not
 * ready before the server's preface); response data is answered with a connection WINDOW_UPDATE
 * for the bytes received and a PING whenever none of its pings is outstanding (grpc-go's BDP
 * estimator: on a connection per call, once); closing sends GOAWAY and ends the socket.
 */
export class LeanCsiCaller extends UnaryCsiCaller {
  private session: GoLikeSession | undefined;
  private readonly identity: Methods;
  private readonly node: Methods;

  private constructor(private readonly socketPath: string) {
    super();
    const services = loadCsiServices();
    this.identity = services.Identity.service as unknown as Methods;
    this.node = services.Node.service as unknown as Methods;
  }

  /** `unix:///path/csi.sock` (or `unix:/path`, or a bare path). */
  static connect(endpoint: string): LeanCsiCaller {
    return new LeanCsiCaller(endpoint.replace(/^unix:(\/\/)?/, ''));
  }

  close(): void {
    this.session?.http2.close();
    this.session = undefined;
  }

  /** One connection for every call, made again if it was lost (as a gRPC channel reconnects). */
  private connection(): GoLikeSession {
    if (this.session === undefined || this.session.http2.closed || this.session.http2.destroyed) {
      const http2 = connect('http://localhost', { createConnection: () => connectSocket(this.socketPath) });
      // A lost connection fails the calls on it; the next call connects again.
      http2.on('error', () => undefined);
      const ready = new Promise<void>((resolveReady, rejectReady) => {
        http2.once('remoteSettings', () => resolveReady());
        http2.once('close', () => rejectReady(new Error('the connection closed before the server sent its SETTINGS')));
      });
      ready.catch(() => undefined);
      this.session = { http2, ready, window: DEFAULT_CONNECTION_WINDOW, pinging: false };
    }
    return this.session;
  }

  /** grpc-go's BDP estimator on incoming data: give the window back and ping, one ping at a time. */
  private static received(session: GoLikeSession, bytes: number): void {
    if (session.pinging || session.http2.destroyed) return;
    session.pinging = true;
    session.window += bytes;
    session.http2.setLocalWindowSize(session.window);
    session.http2.ping(BDP_PING_PAYLOAD, () => {
      session.pinging = false;
    });
  }

  protected unary<T>(service: 'identity' | 'node', method: string, request: object, deadlineMs: number): Promise<T> {
    const definition = (service === 'identity' ? this.identity : this.node)[method];
    if (definition === undefined) return Promise.reject(new Error(`no such CSI method ${method}`));
    const message = definition.requestSerialize(request);
    const frame = Buffer.allocUnsafe(5 + message.length);
    frame[0] = 0; // not compressed
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    const session = this.connection();
    return session.ready.then(
      () => this.call<T>(session, method, definition, frame, deadlineMs),
      (error: unknown) => Promise.reject(new CsiCallError(method, 14, grpcCodeName(14), error instanceof Error ? error.message : String(error), undefined)),
    );
  }

  private call<T>(session: GoLikeSession, method: string, definition: MethodDefinition<object, unknown>, frame: Buffer, deadlineMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const stream = session.http2.request({
        ':method': 'POST',
        ':path': definition.path,
        'content-type': 'application/grpc',
        'user-agent': USER_AGENT,
        te: 'trailers',
        'grpc-timeout': grpcTimeout(deadlineMs),
      });
      const fail = (code: number, details: string, errorCode?: string) => reject(new CsiCallError(method, code, grpcCodeName(code), details, errorCode));
      let status: IncomingHttpHeaders | undefined;
      const chunks: Buffer[] = [];
      stream.setTimeout(deadlineMs, () => {
        stream.close(constants.NGHTTP2_CANCEL);
        fail(4, 'Deadline exceeded');
      });
      stream.on('response', (headers) => {
        // A trailers-only response (every error of grpc-js) carries the status in its headers.
        if (headers['grpc-status'] !== undefined) status = headers;
      });
      stream.on('trailers', (trailers) => {
        status = trailers;
      });
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        LeanCsiCaller.received(session, chunk.length);
      });
      stream.on('error', (error) => fail(14, error.message));
      stream.on('close', () => {
        if (status === undefined) return fail(13, `the stream closed without a grpc-status (HTTP/2 code ${stream.rstCode})`);
        const code = Number(status['grpc-status']);
        if (code !== 0) return fail(code, percentDecoded(headerValue(status['grpc-message'])), headerValue(status['credmount-error-code']) || undefined);
        const body = Buffer.concat(chunks);
        if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) {
          return fail(13, `the answer is not one uncompressed length-prefixed message (${body.length} bytes)`);
        }
        try {
          resolve(definition.responseDeserialize(body.subarray(5)) as T);
        } catch (error) {
          fail(13, `the answer does not decode: ${error instanceof Error ? error.message : String(error)}`);
        }
      });
      stream.end(frame);
    });
  }
}

/** HTTP/2's initial connection flow-control window (RFC 9113 §6.9.2), which grpc-go keeps until its BDP estimate grows it. */
const DEFAULT_CONNECTION_WINDOW = 65_535;
/** The 8 bytes grpc-go's BDP pings carry (internal/transport/bdp_estimator.go). */
const BDP_PING_PAYLOAD = Buffer.from([2, 4, 16, 16, 9, 14, 7, 7]);

/** A connection, when the server's SETTINGS arrived, and the BDP estimator's state. */
interface GoLikeSession {
  readonly http2: ClientHttp2Session;
  readonly ready: Promise<void>;
  window: number;
  pinging: boolean;
}

/** PROTOCOL-HTTP2 "Timeout": a positive integer of at most 8 digits and a unit (m: milliseconds, S: seconds). */
function grpcTimeout(deadlineMs: number): string {
  const ms = Math.max(1, Math.ceil(deadlineMs));
  return ms <= 99_999_999 ? `${ms}m` : `${Math.min(99_999_999, Math.ceil(ms / 1000))}S`;
}

function headerValue(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

/** grpc-message is percent-encoded (PROTOCOL-HTTP2: "Status-Message"). */
function percentDecoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
