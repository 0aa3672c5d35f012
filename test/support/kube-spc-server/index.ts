/**
 * A local Kubernetes API server for credmount's tests (ARCHITECTURE.md §5): the parts of the API
 * the driver uses, following the documented wire formats request by request (docs/kubernetes-api.md):
 *
 * - SecretProviderClasses (`secrets-store.csi.x-k8s.io/v1`, namespaced): get, list and watch
 *   (`?watch=true`, newline-delimited `{"type":"ADDED|MODIFIED|DELETED","object":...}`), with a
 *   cluster-wide `resourceVersion` counter, as the API server does.
 * - core v1 Events: create (POST) and patch (JSON patch or merge patch), get and list.
 * - Bearer-token authentication (401 `Unauthorized` Status) and a simple RBAC table: a verb on a
 *   resource that is not allowed answers 403 with the API server's `Forbidden` Status message.
 *
 *   const kube = await KubeTestServer.start({ token: 'driver-token' });
 *   kube.putSecretProviderClass('demo', 'vault-db', { provider: 'vault', parameters: {...} });
 *   kube.deny('get', 'secretproviderclasses');
 *   kube.writeKubeconfig(path);   // what --kubeconfig reads
 *   ... kube.requests ... kube.events('demo') ...
 *   await kube.stop();
 */
export { KubeTestServer, type KubeTestServerOptions, type KubeRequestRecord, type StoredObject, type EventObject } from './server.js';
