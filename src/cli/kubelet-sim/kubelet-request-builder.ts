/**
 * Builds NodePublishVolume / NodeUnpublishVolume requests exactly as kubelet's CSI volume plugin
 * does for an inline ephemeral volume of a CSIDriver with `podInfoOnMount: true` and
 * `tokenRequests` (pkg/volume/csi/csi_mounter.go, csi_plugin.go). Plain objects with proto field
 * names, as in test/unit/kubelet/fixtures/; the gRPC client that sends them lives elsewhere.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SimulatedPod } from './simulated-pod.js';
import type { MintedToken } from './token-issuer.js';

export const DEFAULT_KUBELET_ROOT = '/var/lib/kubelet';
export const SERVICE_ACCOUNT_TOKENS_KEY = 'csi.storage.k8s.io/serviceAccount.tokens';
/** kubelet's file next to the target, recording what it mounted (csi_plugin.go). */
export const VOLUME_DATA_FILE = 'vol_data.json';

export interface NodePublishVolumeRequest {
  volume_id: string;
  target_path: string;
  readonly: boolean;
  secrets: Record<string, string>;
  volume_context: Record<string, string>;
  volume_capability: {
    mount: { fs_type: string; mount_flags: string[]; volume_mount_group: string };
    access_mode: { mode: 'SINGLE_NODE_WRITER' | 'SINGLE_NODE_MULTI_WRITER' };
  };
}

export interface NodeUnpublishVolumeRequest {
  volume_id: string;
  target_path: string;
}

export interface KubeletRequestOptions {
  /** `--root-dir` of kubelet. Default /var/lib/kubelet. */
  readonly kubeletRoot?: string;
  /** CSIDriver `serviceAccountTokenInSecrets: true` (Kubernetes 1.35+): tokens go to `secrets`. */
  readonly tokensInSecrets?: boolean;
  /** The inline volume's `readOnly`. Default true: credentials volumes should be read-only. */
  readonly readOnly?: boolean;
  /**
   * Whether the driver advertises VOLUME_MOUNT_GROUP; only then does kubelet send the pod's
   * fsGroup in `volume_mount_group`. Default true (credmount does).
   */
  readonly volumeMountGroup?: boolean;
  /**
   * Whether the driver advertises SINGLE_NODE_MULTI_WRITER; kubelet then maps the inline volume's
   * ReadWriteOnce to SINGLE_NODE_MULTI_WRITER instead of SINGLE_NODE_WRITER (csi_client.go,
   * getNodeV1AccessModeMapper). Default false (credmount does not).
   */
  readonly singleNodeMultiWriter?: boolean;
}

/** kubelet's makeVolumeHandle: `csi-` + hex(sha256(podUID + volume name)). */
export function inlineVolumeId(podUid: string, volumeName: string): string {
  return `csi-${createHash('sha256').update(`${podUid}${volumeName}`).digest('hex')}`;
}

/** `<root>/pods/<uid>/volumes/kubernetes.io~csi/<volume>/mount` */
export function inlineTargetPath(pod: Pick<SimulatedPod, 'uid' | 'volumeName'>, kubeletRoot = DEFAULT_KUBELET_ROOT): string {
  return join(kubeletRoot, 'pods', pod.uid, 'volumes', 'kubernetes.io~csi', escapeQualifiedName(pod.volumeName), 'mount');
}

/**
 * kubelet's tokens JSON: json.Marshal(map[audience]TokenRequestStatus) — keys sorted as Go
 * sorts map keys, each value `{"token", "expirationTimestamp"}` in that order.
 */
export function serializeTokens(tokens: ReadonlyMap<string, MintedToken>): string {
  const sorted = [...tokens.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(Object.fromEntries(sorted.map(([audience, t]) => [audience, { token: t.token, expirationTimestamp: t.expirationTimestamp }])));
}

/**
 * The NodePublishVolume call kubelet makes for the pod's inline volume (also every republish).
 * `tokens` holds one entry per audience of `pod.audiences` (see TokenCache.tokensFor).
 */
export function buildNodePublishVolumeRequest(
  pod: SimulatedPod,
  tokens: ReadonlyMap<string, MintedToken>,
  options: KubeletRequestOptions = {},
): NodePublishVolumeRequest {
  // 1. The pod's attributes, then kubelet's keys on top (mergeMap: kubelet's win).
  const context: Record<string, string> = { ...pod.attributes };
  Object.assign(context, {
    'csi.storage.k8s.io/pod.name': pod.name,
    'csi.storage.k8s.io/pod.namespace': pod.namespace,
    'csi.storage.k8s.io/pod.uid': pod.uid,
    'csi.storage.k8s.io/serviceAccount.name': pod.serviceAccountName,
    'csi.storage.k8s.io/ephemeral': 'true',
  });

  // 2. Tokens, only when the CSIDriver has tokenRequests: in secrets (opt-in) or volume_context.
  const secrets: Record<string, string> = {};
  if (pod.audiences.length > 0) {
    const missing = pod.audiences.filter((audience) => !tokens.has(audience));
    if (missing.length > 0) throw new Error(`no token for audience(s) ${missing.map((a) => JSON.stringify(a)).join(', ')}`);
    const json = serializeTokens(new Map(pod.audiences.map((audience) => [audience, tokens.get(audience) as MintedToken])));
    if (options.tokensInSecrets === true) secrets[SERVICE_ACCOUNT_TOKENS_KEY] = json;
    else context[SERVICE_ACCOUNT_TOKENS_KEY] = json;
  }

  const sendsMountGroup = options.volumeMountGroup ?? true;
  return {
    volume_id: inlineVolumeId(pod.uid, pod.volumeName),
    target_path: inlineTargetPath(pod, options.kubeletRoot),
    readonly: options.readOnly ?? true,
    secrets,
    volume_context: sortKeys(context),
    volume_capability: {
      // Inline volumes have no fsType and no mount options.
      mount: { fs_type: '', mount_flags: [], volume_mount_group: sendsMountGroup && pod.fsGroup !== undefined ? String(pod.fsGroup) : '' },
      // An inline volume is ReadWriteOnce to kubelet, mapped by what the driver advertises.
      access_mode: { mode: options.singleNodeMultiWriter === true ? 'SINGLE_NODE_MULTI_WRITER' : 'SINGLE_NODE_WRITER' },
    },
  };
}

export function buildNodeUnpublishVolumeRequest(pod: SimulatedPod, options: Pick<KubeletRequestOptions, 'kubeletRoot'> = {}): NodeUnpublishVolumeRequest {
  return { volume_id: inlineVolumeId(pod.uid, pod.volumeName), target_path: inlineTargetPath(pod, options.kubeletRoot) };
}

export interface VolumeData {
  readonly driverName: string;
  readonly nodeName: string;
}

/**
 * What kubelet does on disk before NodePublishVolume: create the target's parent
 * (`.../kubernetes.io~csi/<volume>`, mode 0750) — never the target itself, which the driver
 * creates — and, when `volumeData` is given, write vol_data.json there as kubelet does.
 * Returns the parent directory.
 */
export async function prepareTargetParent(request: Pick<NodePublishVolumeRequest, 'target_path' | 'volume_id'>, volumeData?: VolumeData): Promise<string> {
  const parent = dirname(request.target_path);
  await mkdir(parent, { recursive: true, mode: 0o750 });
  if (volumeData !== undefined) {
    // csi_plugin.go NewMounter: json.Marshal of a map, so keys sorted.
    const data = {
      attachmentID: `csi-${createHash('sha256').update(`${request.volume_id}${volumeData.driverName}${volumeData.nodeName}`).digest('hex')}`,
      driverName: volumeData.driverName,
      nodeName: volumeData.nodeName,
      specVolID: parent.split('/').pop() ?? '',
      volumeHandle: request.volume_id,
      volumeLifecycleMode: 'Ephemeral',
    };
    await writeFile(join(parent, VOLUME_DATA_FILE), JSON.stringify(data));
  }
  return parent;
}

/**
 * What kubelet does after a successful NodeUnpublishVolume (removeMountDir): if the target is
 * still a mount point it leaves everything and returns false; otherwise it removes the target
 * if the driver left it (an empty directory; anything else is an error, as os.Remove fails),
 * then vol_data.json and the parent, and returns true.
 */
export async function cleanUpAfterUnpublish(request: Pick<NodeUnpublishVolumeRequest, 'target_path'>): Promise<boolean> {
  if (await isLikelyMountPoint(request.target_path)) return false;
  const parent = dirname(request.target_path);
  await removeIfPresent(request.target_path);
  await rm(join(parent, VOLUME_DATA_FILE), { force: true });
  await removeIfPresent(parent);
  return true;
}

async function removeIfPresent(directory: string): Promise<void> {
  try {
    await rmdir(directory);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** mount-utils' IsLikelyNotMountPoint, inverted: a different device than the parent's. */
export async function isLikelyMountPoint(path: string): Promise<boolean> {
  let own;
  try {
    own = await lstat(path);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  const parent = await stat(dirname(path));
  return own.dev !== parent.dev;
}

/** utilstrings.EscapeQualifiedName: "/" becomes "~" (volume names are DNS labels, so a no-op). */
function escapeQualifiedName(name: string): string {
  return name.replaceAll('/', '~');
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
