import type { PodIdentity } from '../provider.js';

/**
 * csi-driver's templating (Go's `os.Expand` over four variables): `${POD_NAME}` and `$POD_NAME`
 * both expand; any other variable name is an error naming the known ones, so a typo is caught at
 * mount time instead of producing a certificate for a literal `${POD_NAMESPCE}`.
 */
export const TEMPLATE_VARIABLES = ['POD_NAME', 'POD_NAMESPACE', 'POD_UID', 'SERVICE_ACCOUNT_NAME'] as const;

const REFERENCE = /\$\{([^}]*)\}|\$([A-Za-z0-9_]+)/g;

/** The expanded text, or the list of unknown variables. Pure. */
export function expandTemplate(text: string, identity: PodIdentity): { value: string } | { unknown: string[] } {
  const values: Readonly<Record<string, string>> = {
    POD_NAME: identity.podName,
    POD_NAMESPACE: identity.namespace,
    POD_UID: identity.podUid,
    SERVICE_ACCOUNT_NAME: identity.serviceAccountName,
  };
  const unknown: string[] = [];
  const value = text.replace(REFERENCE, (_match, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    if (!Object.prototype.hasOwnProperty.call(values, name)) {
      unknown.push(name);
      return '';
    }
    return values[name] as string;
  });
  return unknown.length > 0 ? { unknown } : { value };
}
