import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { impliedProviderName, parseKubeletPublish } from '../kubelet/index.js';
import type { VolumeManager } from '../volumes/volume-manager.js';
import { checkPublishArguments, checkStatsArguments, checkUnpublishArguments } from './node-arguments.js';
import { unary, type CallFacts, type HandlerContext } from './unary-handler.js';
import type { NodeGetVolumeStatsRequestWire, NodePublishVolumeRequestWire, NodeUnpublishVolumeRequestWire } from './wire-types.js';

export interface NodeServiceOptions extends HandlerContext {
  /** Providers this driver serves: metric labels use only these names (pods can write anything). */
  readonly providerNames: readonly string[];
  readonly nodeId: string;
  readonly volumes: VolumeManager;
  readonly defaultProvider: string;
  readonly requireReadOnly: boolean;
  readonly now?: () => Date;
}

const POD_NAMESPACE = 'csi.storage.k8s.io/pod.namespace';
const POD_NAME = 'csi.storage.k8s.io/pod.name';

function publishFacts(defaultProvider: string, providerNames: readonly string[]) {
  return (request: NodePublishVolumeRequestWire): CallFacts => {
    const context = request.volume_context ?? {};
    const asked = context['provider'] ?? impliedProviderName(context) ?? defaultProvider;
    return {
      volumeId: request.volume_id,
      pod: context[POD_NAMESPACE] === undefined ? undefined : `${context[POD_NAMESPACE]}/${context[POD_NAME] ?? ''}`,
      // Bounded label values: an unknown name would let any pod mint new metric series.
      provider: providerNames.includes(asked) ? asked : 'unknown',
    };
  };
}

/**
 * The Node service. NodeStageVolume, NodeUnstageVolume and NodeExpandVolume are deliberately
 * absent: grpc-js answers UNIMPLEMENTED for them, which is what the spec asks of a plugin that
 * does not advertise STAGE_UNSTAGE_VOLUME or EXPAND_VOLUME.
 */
export function nodeService(options: NodeServiceOptions): UntypedServiceImplementation {
  const now = options.now ?? (() => new Date());
  return {
    NodeGetCapabilities: unary(options, 'NodeGetCapabilities', () => ({}), async () => ({
      response: {
        // VOLUME_CONDITION is not advertised: CSI 1.13 reserves it (superseded by GET_VOLUME_HEALTH).
        capabilities: ['VOLUME_MOUNT_GROUP', 'GET_VOLUME_STATS'].map((type) => ({ rpc: { type } })),
      },
    })),

    NodeGetInfo: unary(options, 'NodeGetInfo', () => ({}), async () => ({
      response: { node_id: options.nodeId, max_volumes_per_node: '0', accessible_topology: null },
    })),

    NodePublishVolume: unary(options, 'NodePublishVolume', publishFacts(options.defaultProvider, options.providerNames), async (request: NodePublishVolumeRequestWire) => {
      const input = checkPublishArguments(request, { requireReadOnly: options.requireReadOnly });
      const parsed = parseKubeletPublish(input, { now: now(), defaultProvider: options.defaultProvider });
      const outcome = await options.volumes.publish(parsed);
      return { response: {}, result: outcome };
    }),

    NodeUnpublishVolume: unary(
      options,
      'NodeUnpublishVolume',
      (request: NodeUnpublishVolumeRequestWire) => ({ volumeId: request.volume_id }),
      async (request: NodeUnpublishVolumeRequestWire) => {
        const { volumeId, targetPath } = checkUnpublishArguments(request);
        await options.volumes.unpublish(volumeId, targetPath);
        return { response: {} };
      },
    ),

    NodeGetVolumeStats: unary(
      options,
      'NodeGetVolumeStats',
      (request: NodeGetVolumeStatsRequestWire) => ({ volumeId: request.volume_id }),
      async (request: NodeGetVolumeStatsRequestWire) => {
        const { volumeId, volumePath } = checkStatsArguments(request);
        const usage = await options.volumes.stats(volumeId, volumePath);
        return {
          response: {
            usage: [
              { unit: 'BYTES', total: String(usage.totalBytes), available: String(usage.availableBytes), used: String(usage.usedBytes) },
              { unit: 'INODES', total: String(usage.totalInodes), available: String(usage.availableInodes), used: String(usage.usedInodes) },
            ],
          },
        };
      },
    ),
  };
}
