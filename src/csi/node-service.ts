import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { impliedProviderName, parseKubeletPublish } from '../kubelet/index.js';
import type { VolumeManager } from '../volumes/volume-manager.js';
import { checkPublishArguments, checkStatsArguments, checkUnpublishArguments } from './node-arguments.js';
import { RecentPublishes } from './recent-publishes.js';
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
const POD_UID = 'csi.storage.k8s.io/pod.uid';
const SERVICE_ACCOUNT = 'csi.storage.k8s.io/serviceAccount.name';
const SECRET_PROVIDER_CLASS = 'secretProviderClass';

function publishFacts(defaultProvider: string, providerNames: readonly string[], volumes: VolumeManager) {
  return (request: NodePublishVolumeRequestWire): CallFacts => {
    const context = request.volume_context ?? {};
    // A class reference's provider is known once the class was read (for a volume we know).
    const byClass = Object.prototype.hasOwnProperty.call(context, SECRET_PROVIDER_CLASS);
    const asked = byClass ? (volumes.describe(request.volume_id)?.provider ?? 'unknown') : (context['provider'] ?? impliedProviderName(context) ?? defaultProvider);
    return {
      volumeId: request.volume_id,
      // Pod identity on every line about a volume: names and UID only, never a token.
      namespace: context[POD_NAMESPACE],
      pod: context[POD_NAME],
      podUid: context[POD_UID],
      serviceAccount: context[SERVICE_ACCOUNT],
      ...(byClass ? { secretProviderClass: context[SECRET_PROVIDER_CLASS] } : {}),
      // Bounded label values: an unknown name would let any pod mint new metric series.
      provider: providerNames.includes(asked) ? asked : 'unknown',
    };
  };
}

/** What a volume this process knows says about its pod (unpublish and stats carry no pod info). */
function knownVolumeFacts(volumes: VolumeManager, volumeId: string): CallFacts {
  const known = volumes.describe(volumeId);
  return known === undefined ? { volumeId } : { ...known.log, volumeId, provider: known.provider };
}

/**
 * The Node service. `recentPublishes` is shared with the server's NodePublishVolume decoder
 * (csi-server.ts). NodeStageVolume, NodeUnstageVolume and NodeExpandVolume are deliberately
 * absent: grpc-js answers UNIMPLEMENTED for them, which is what the spec asks of a plugin that
 * does not advertise STAGE_UNSTAGE_VOLUME or EXPAND_VOLUME.
 */
export function nodeService(options: NodeServiceOptions, recentPublishes = new RecentPublishes()): UntypedServiceImplementation {
  const now = options.now ?? (() => new Date());
  // One answer for every NodeGetCapabilities: kubelet asks it before each publish, republish and stats call.
  // VOLUME_CONDITION is not advertised: CSI 1.13 reserves it (superseded by GET_VOLUME_HEALTH).
  const capabilities = { response: { capabilities: ['VOLUME_MOUNT_GROUP', 'GET_VOLUME_STATS'].map((type) => ({ rpc: { type } })) } };
  return {
    NodeGetCapabilities: unary(options, 'NodeGetCapabilities', () => ({}), async () => capabilities, { routine: true }),

    NodeGetInfo: unary(options, 'NodeGetInfo', () => ({}), async () => ({
      response: { node_id: options.nodeId, max_volumes_per_node: '0', accessible_topology: null },
    })),

    NodePublishVolume: unary(options, 'NodePublishVolume', publishFacts(options.defaultProvider, options.providerNames, options.volumes), async (request: NodePublishVolumeRequestWire) => {
      // A republish equal to the last publish of this volume skips the checks and the parse (recent-publishes.ts).
      const at = now();
      let parsed = recentPublishes.reuse(request, at);
      if (parsed === undefined) {
        const input = checkPublishArguments(request, { requireReadOnly: options.requireReadOnly });
        parsed = parseKubeletPublish(input, { now: at, defaultProvider: options.defaultProvider });
        recentPublishes.remember(request, parsed);
      }
      const outcome = await options.volumes.publish(parsed);
      // A class's provider is known now (first publish); label the call with it.
      const provider = parsed.secretProviderClass === undefined ? undefined : options.volumes.describe(parsed.volumeId)?.provider;
      return { response: {}, result: outcome, ...(provider === undefined ? {} : { facts: { provider } }) };
    }),

    NodeUnpublishVolume: unary(
      options,
      'NodeUnpublishVolume',
      (request: NodeUnpublishVolumeRequestWire) => knownVolumeFacts(options.volumes, request.volume_id),
      async (request: NodeUnpublishVolumeRequestWire) => {
        const { volumeId, targetPath } = checkUnpublishArguments(request);
        recentPublishes.forget(volumeId);
        await options.volumes.unpublish(volumeId, targetPath);
        return { response: {} };
      },
    ),

    NodeGetVolumeStats: unary(
      options,
      'NodeGetVolumeStats',
      (request: NodeGetVolumeStatsRequestWire) => knownVolumeFacts(options.volumes, request.volume_id),
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
      { routine: true },
    ),
  };
}
