import type { sendUnaryData, ServerUnaryCall, UntypedHandleCall } from '@grpc/grpc-js';
import { describeError, isCredmountError } from '../errors/credmount-error.js';
import type { Logger } from '../observability/logger.js';
import type { DriverMetrics } from '../observability/metrics.js';
import { afterAnswerSent } from './after-answer.js';
import { errorCodeOf, toServiceError } from './status-mapping.js';

/** Non-secret facts about a call, for its log line and metric labels. */
export interface CallFacts {
  readonly volumeId?: string;
  readonly namespace?: string | undefined;
  readonly pod?: string | undefined;
  readonly podUid?: string | undefined;
  readonly serviceAccount?: string | undefined;
  readonly secretProviderClass?: string | undefined;
  readonly provider?: string;
}

export interface HandlerContext {
  readonly logger: Logger;
  readonly metrics: DriverMetrics;
}

export interface UnaryOptions {
  /**
   * A call that is made on a schedule and changes nothing: kubelet asks NodeGetCapabilities twice
   * before every publish and republish and once before every NodeGetVolumeStats, which it asks of
   * every volume each minute (docs/kubelet-contract.md §4); the liveness probe calls Probe every
   * few seconds. Its success is logged at debug, so that the info log holds what changed (a node of
   * 110 volumes would otherwise write ~440 such lines a minute); failures stay at warn.
   */
  readonly routine?: boolean;
}

/**
 * Wraps an async handler: maps errors to statuses, records the operation metric and writes one
 * log line per call. This is the only place requests are logged, and it logs `facts` — chosen
 * fields — never the request itself, which carries tokens in `secrets`/`volume_context`.
 */
export function unary<Req, Res>(
  context: HandlerContext,
  operation: string,
  facts: (request: Req) => CallFacts,
  handler: (request: Req) => Promise<{ response: Res; result?: string; facts?: CallFacts }>,
  options: UnaryOptions = {},
): UntypedHandleCall {
  const successLevel = options.routine === true ? 'debug' : 'info';
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const started = process.hrtime.bigint();
    let described: CallFacts = {};
    try {
      described = facts(call.request);
    } catch {
      // facts are best effort: a malformed request still gets its proper error from the handler.
    }
    // The answer goes to kubelet first; `seconds` is taken before it.
    const finish = (result: string, level: 'debug' | 'info' | 'warn', extra: Record<string, unknown>, answer: () => void, after?: () => void) => {
      const provider = described.provider ?? '';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      answer();
      // The metrics at once (microseconds, and a scrape right after the answer must see them);
      // the log line — pino's redaction alone is ~0.1 ms — once the answer is on the socket.
      context.metrics.operations.inc({ operation, provider, result });
      context.metrics.operationSeconds.observe({ operation, provider, result }, seconds);
      if (!context.logger.isLevelEnabled(level) && after === undefined) return;
      afterAnswerSent(() => {
        context.logger[level]({ op: operation, ...described, result, ms: Math.round(seconds * 1e6) / 1e3, ...extra }, operation);
        after?.();
      });
    };
    handler(call.request).then(
      ({ response, result, facts: learned }) => {
        // What the handler learned (a class's provider) replaces the guess made from the request.
        if (learned !== undefined) described = { ...described, ...learned };
        finish(result ?? 'ok', result === 'fresh' ? 'debug' : successLevel, {}, () => callback(null, response));
      },
      (error: unknown) => {
        const status = toServiceError(error);
        finish(errorCodeOf(error), 'warn', { err: status.details }, () => callback(status, null), () => {
          // Uncoded: kubelet gets a generic INTERNAL; the detail goes to the operator's log only.
          if (!isCredmountError(error)) context.logger.error({ op: operation, ...described, err: describeError(error) }, 'unexpected error');
        });
      },
    );
  };
}
