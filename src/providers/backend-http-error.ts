import type { CredmountError } from '../errors/credmount-error.js';

/**
 * A backend answered an HTTP request with a status that is not 2xx. `status` lets the provider
 * react (log in again, drop a cached token); `credmountError` is what kubelet is told.
 */
export class BackendHttpError extends Error {
  constructor(
    readonly status: number,
    readonly credmountError: CredmountError,
  ) {
    super(credmountError.message);
  }
}
