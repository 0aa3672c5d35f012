import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { unary, type HandlerContext } from './unary-handler.js';

export interface IdentityServiceOptions extends HandlerContext {
  readonly driverName: string;
  readonly version: string;
  /** Probe answers ready only once this says so (state recovered, providers loaded). */
  readonly isReady: () => boolean;
}

export function identityService(options: IdentityServiceOptions): UntypedServiceImplementation {
  const none = () => ({});
  return {
    GetPluginInfo: unary(options, 'GetPluginInfo', none, async () => ({
      response: { name: options.driverName, vendor_version: options.version, manifest: {} },
    })),
    // A node-only plugin: no CONTROLLER_SERVICE, no topology constraints.
    GetPluginCapabilities: unary(options, 'GetPluginCapabilities', none, async () => ({ response: { capabilities: [] } }), { routine: true }),
    Probe: unary(options, 'Probe', none, async () => ({ response: { ready: { value: options.isReady() } } }), { routine: true }),
  };
}
