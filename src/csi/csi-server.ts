import { Server, ServerCredentials } from '@grpc/grpc-js';
import { unlink } from 'node:fs/promises';
import { loadCsiServices } from './csi-proto.js';
import { CSI_SERVER_OPTIONS } from './server-options.js';
import { identityService, type IdentityServiceOptions } from './identity-service.js';
import { nodeService, type NodeServiceOptions } from './node-service.js';
import { RecentPublishes } from './recent-publishes.js';
import { prepareSocketPath, socketPathFromEndpoint } from './unix-endpoint.js';
import type { NodePublishVolumeRequestWire } from './wire-types.js';

export type CsiServerOptions = IdentityServiceOptions & NodeServiceOptions & { readonly endpoint: string };

/** The gRPC server kubelet and the sidecars talk to, on a unix socket. */
export class CsiServer {
  private readonly server: Server;
  readonly socketPath: string;

  private constructor(server: Server, socketPath: string) {
    this.server = server;
    this.socketPath = socketPath;
  }

  static async start(options: CsiServerOptions): Promise<CsiServer> {
    const socketPath = socketPathFromEndpoint(options.endpoint);
    const services = loadCsiServices();
    const server = new Server({ ...CSI_SERVER_OPTIONS });
    server.addService(services.Identity.service, identityService(options));
    // NodePublishVolume's requests decoded through the node service's recent publishes: a
    // republish with the same bytes as the last one is not decoded again (recent-publishes.ts).
    const recentPublishes = new RecentPublishes();
    const publish = services.Node.service['NodePublishVolume'];
    if (publish === undefined) throw new Error('csi.v1.Node has no NodePublishVolume');
    const decode = publish.requestDeserialize as (bytes: Buffer) => NodePublishVolumeRequestWire;
    server.addService({ ...services.Node.service, NodePublishVolume: { ...publish, requestDeserialize: recentPublishes.decoder(decode) } }, nodeService(options, recentPublishes));
    await prepareSocketPath(socketPath);
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix:${socketPath}`, ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve()));
    });
    return new CsiServer(server, socketPath);
  }

  /**
   * Graceful stop: refuse new calls, let running ones (a publish mid-write) finish, force after
   * `graceMs`. kubelet retries whatever was cut off.
   */
  async stop(graceMs = 10_000): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await unlink(this.socketPath).catch(() => undefined);
  }
}
