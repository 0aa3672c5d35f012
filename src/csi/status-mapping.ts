import { status as GrpcStatus, type ServiceError, Metadata } from '@grpc/grpc-js';
import { CredmountError, isCredmountError, type StatusName } from '../errors/credmount-error.js';

const CODES: Readonly<Record<StatusName, GrpcStatus>> = {
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  ALREADY_EXISTS: GrpcStatus.ALREADY_EXISTS,
  ABORTED: GrpcStatus.ABORTED,
  PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
  UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  FAILED_PRECONDITION: GrpcStatus.FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED: GrpcStatus.RESOURCE_EXHAUSTED,
  UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  DEADLINE_EXCEEDED: GrpcStatus.DEADLINE_EXCEEDED,
  INTERNAL: GrpcStatus.INTERNAL,
};

export function grpcCode(status: StatusName): GrpcStatus {
  return CODES[status];
}

/**
 * The status kubelet receives. A coded error keeps its message (written to be safe and useful
 * in a pod event) and carries its code in the `credmount-error-code` trailer; anything else is
 * an INTERNAL with a generic message, because an uncoded message was not written for users and
 * might carry details we did not vet.
 */
export function toServiceError(error: unknown): Partial<ServiceError> & { code: GrpcStatus } {
  const metadata = new Metadata();
  if (isCredmountError(error)) {
    metadata.set('credmount-error-code', error.code);
    return { code: grpcCode(error.status), details: error.message, metadata };
  }
  metadata.set('credmount-error-code', 'CM_INTERNAL');
  return { code: GrpcStatus.INTERNAL, details: 'internal error (see the driver log)', metadata };
}

export function errorCodeOf(error: unknown): string {
  return error instanceof CredmountError ? error.code : 'CM_INTERNAL';
}
