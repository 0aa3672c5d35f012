import { decodeJwt } from 'jose';

/**
 * `kubernetes.io.serviceaccount.uid` of a pod's service-account token, or '' when it has none or
 * cannot be decoded. Providers key their cached backend credentials by it as well as by name: a
 * service account deleted and created again under the same name is another identity. The claim
 * is only read here: the token was cross-checked against the pod by the kubelet layer, and the
 * backend verifies it.
 */
export function serviceAccountUid(jwt: string): string {
  try {
    const claims = decodeJwt(jwt) as { 'kubernetes.io'?: { serviceaccount?: { uid?: unknown } } };
    const uid = claims['kubernetes.io']?.serviceaccount?.uid;
    return typeof uid === 'string' ? uid : '';
  } catch {
    return '';
  }
}
