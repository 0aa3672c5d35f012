import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { effectiveValues, exampleValuesFiles, findOne, renderChart, type K8sObject } from './chart-support.js';
import { validateAgainstOpenApi } from './openapi-validate.js';

/**
 * Every documented values combination (the defaults and each file in the chart's examples/),
 * rendered with real `helm template` for Kubernetes 1.30, validated offline against the
 * Kubernetes OpenAPI schemas, and read back field by field.
 */

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; valueFrom?: { fieldRef?: { fieldPath?: string } } }[];
  securityContext?: Record<string, unknown>;
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number }; exec?: { command: string[] } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string; mountPropagation?: string; readOnly?: boolean }[];
}
interface Volume {
  name: string;
  hostPath?: { path: string; type?: string };
  configMap?: { name: string };
}
interface Values {
  driverName: string;
  kubeletDir: string;
  stateDir: string;
  priorityClassName: string;
  tolerations: unknown[];
  metrics: { port: number };
  events: { enabled: boolean };
  secretProviderClassCRD: { install: string | boolean };
  serviceAccount: { name: string };
  driver: { livenessViaCsiProbe: boolean; defaultProvider: string };
  csiDriver: { serviceAccountTokenInSecrets: boolean; extraTokenRequests: { audience?: string; expirationSeconds?: number }[] };
  providers: Record<string, { enabled: boolean; name?: string; audience?: string; expirationSeconds?: number; serviceAccountAnnotations?: boolean }>;
}

const cases: { name: string; file: string | undefined }[] = [{ name: 'defaults', file: undefined }, ...(await exampleValuesFiles()).map((file) => ({ name: basename(file), file }))];

/** What tokenRequests must be, computed from the values independently of the chart's template. */
function expectedTokenRequests(values: Values): { audience: string; expirationSeconds: number }[] {
  const out = new Map<string, number>();
  for (const key of Object.keys(values.providers).sort()) {
    const provider = values.providers[key];
    if (provider?.enabled === true) out.set(provider.audience ?? '', provider.expirationSeconds ?? 3600);
  }
  for (const extra of values.csiDriver.extraTokenRequests) if (!out.has(extra.audience ?? '')) out.set(extra.audience ?? '', extra.expirationSeconds ?? 3600);
  return [...out].map(([audience, expirationSeconds]) => ({ audience, expirationSeconds }));
}

function container(objects: readonly K8sObject[], name: string): Container {
  const ds = findOne(objects, 'DaemonSet') as unknown as { spec: { template: { spec: { containers: Container[] } } } };
  const found = ds.spec.template.spec.containers.find((c) => c.name === name);
  assert.ok(found, `DaemonSet has a ${name} container`);
  return found;
}

function argValue(c: Container, flag: string): string | undefined {
  const prefix = `--${flag}=`;
  const values = (c.args ?? []).filter((a) => a.startsWith(prefix)).map((a) => a.slice(prefix.length));
  return values.at(-1);
}

for (const { name, file } of cases) {
  describe(`chart rendered with ${name}`, async () => {
    const values = (await effectiveValues(file)) as unknown as Values;
    const objects = await renderChart({ valuesFiles: file === undefined ? [] : [file] });
    const kubeletDir = values.kubeletDir.replace(/\/$/, '');

    it('renders only objects that are valid against the Kubernetes 1.30+ OpenAPI schemas', async () => {
      assert.ok(objects.length >= 5);
      for (const object of objects) await validateAgainstOpenApi(object);
      const kinds = objects.map((o) => o.kind).sort();
      const crd = String(values.secretProviderClassCRD.install) !== 'false';
      assert.deepEqual(kinds, [...(crd ? ['CustomResourceDefinition'] : []), 'CSIDriver', 'ClusterRole', 'ClusterRoleBinding', 'DaemonSet', 'ServiceAccount'].sort());
      for (const object of objects.filter((o) => !['CSIDriver', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition'].includes(o.kind))) {
        assert.equal(object.metadata.namespace, 'credmount', `${object.kind} is in the release namespace`);
      }
    });

    it('has the CSIDriver kubelet needs: ephemeral, pod info, tokens per enabled audience, republish, fsGroup', () => {
      const driver = findOne(objects, 'CSIDriver') as unknown as { metadata: { name: string }; spec: Record<string, unknown> };
      assert.equal(driver.metadata.name, values.driverName);
      assert.equal(driver.spec['attachRequired'], false);
      assert.equal(driver.spec['podInfoOnMount'], true);
      assert.deepEqual(driver.spec['volumeLifecycleModes'], ['Ephemeral']);
      assert.equal(driver.spec['requiresRepublish'], true);
      assert.equal(driver.spec['fsGroupPolicy'], 'File');
      assert.equal(driver.spec['serviceAccountTokenInSecrets'], values.csiDriver.serviceAccountTokenInSecrets ? true : undefined);
      const tokenRequests = driver.spec['tokenRequests'] as { audience: string; expirationSeconds: number }[];
      assert.deepEqual(tokenRequests, expectedTokenRequests(values));
      assert.equal(new Set(tokenRequests.map((t) => t.audience)).size, tokenRequests.length, 'audiences are unique (the API server refuses duplicates)');
      for (const t of tokenRequests) assert.ok(Number.isInteger(t.expirationSeconds) && t.expirationSeconds >= 600 && t.expirationSeconds < 2 ** 32, `expirationSeconds ${t.expirationSeconds} is in the API's range`);
      if (values.providers['vault']?.enabled === true) assert.ok(tokenRequests.some((t) => t.audience === (values.providers['vault']?.audience ?? 'vault')));
      if (values.providers['certificates']?.enabled === true) assert.ok(tokenRequests.some((t) => t.audience === ''), 'cert-manager certificates use the API server audience ""');
    });

    it('runs a privileged node plugin with Bidirectional propagation on the kubelet pods directory and a hostPath state directory', () => {
      const ds = findOne(objects, 'DaemonSet') as unknown as { spec: { template: { spec: { volumes: Volume[]; priorityClassName: string; tolerations: unknown[]; serviceAccountName: string } } } };
      const pod = ds.spec.template.spec;
      const volume = (n: string): Volume => {
        const v = pod.volumes.find((x) => x.name === n);
        assert.ok(v, `volume ${n}`);
        return v;
      };
      const driver = container(objects, 'driver');
      assert.equal(driver.securityContext?.['privileged'], true);
      assert.equal(driver.args?.[0], 'driver');
      const podsMount = driver.volumeMounts?.find((m) => m.mountPath === `${kubeletDir}/pods`);
      assert.ok(podsMount, 'the driver sees the kubelet pods directory at the same path as the host');
      assert.equal(podsMount.mountPropagation, 'Bidirectional');
      assert.equal(volume(podsMount.name).hostPath?.path, `${kubeletDir}/pods`);
      // Only the driver container may propagate mounts back to the host.
      for (const other of ['node-driver-registrar', 'liveness-probe']) assert.ok(!(container(objects, other).volumeMounts ?? []).some((m) => m.mountPropagation === 'Bidirectional'));
      const stateDir = argValue(driver, 'state-dir');
      assert.equal(stateDir, values.stateDir);
      const stateMount = driver.volumeMounts?.find((m) => m.mountPath === stateDir);
      assert.ok(stateMount, '--state-dir is mounted');
      assert.equal(volume(stateMount.name).hostPath?.path, values.stateDir, 'state survives restarts: a hostPath');
      assert.equal(argValue(driver, 'driver-name'), values.driverName);
      assert.equal(argValue(driver, 'node-id'), '$(NODE_NAME)');
      assert.equal(driver.env?.find((e) => e.name === 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
      assert.equal(pod.priorityClassName, 'system-node-critical');
      assert.deepEqual(pod.tolerations, values.tolerations);
      assert.equal(pod.serviceAccountName, findOne(objects, 'ServiceAccount').metadata.name);
    });

    it('wires node-driver-registrar and livenessprobe to the sockets of ARCHITECTURE §1', () => {
      const ds = findOne(objects, 'DaemonSet') as unknown as { spec: { template: { spec: { volumes: Volume[] } } } };
      const volumes = ds.spec.template.spec.volumes;
      const hostPathOf = (c: Container, mountPath: string): string | undefined => volumes.find((v) => v.name === c.volumeMounts?.find((m) => m.mountPath === mountPath)?.name)?.hostPath?.path;
      const pluginDir = `${kubeletDir}/plugins/${values.driverName}`;
      const driver = container(objects, 'driver');
      assert.equal(argValue(driver, 'endpoint'), 'unix:///csi/csi.sock');
      assert.equal(hostPathOf(driver, '/csi'), pluginDir, 'the socket is <kubelet>/plugins/<driver>/csi.sock on the host');
      const registrar = container(objects, 'node-driver-registrar');
      assert.equal(argValue(registrar, 'csi-address'), '/csi/csi.sock');
      assert.equal(argValue(registrar, 'kubelet-registration-path'), `${pluginDir}/csi.sock`);
      assert.equal(hostPathOf(registrar, '/csi'), pluginDir);
      // The registrar creates <driver>-reg.sock in /registration: kubelet's plugins_registry.
      assert.equal(hostPathOf(registrar, '/registration'), `${kubeletDir}/plugins_registry`);
      assert.ok(registrar.livenessProbe?.exec?.command.includes('--mode=kubelet-registration-probe'));
      const probe = container(objects, 'liveness-probe');
      assert.equal(argValue(probe, 'csi-address'), '/csi/csi.sock');
      assert.equal(hostPathOf(probe, '/csi'), pluginDir);
      const healthzPort = probe.ports?.find((p) => p.name === 'healthz')?.containerPort;
      assert.equal(argValue(probe, 'http-endpoint'), `:${healthzPort}`);
    });

    it('serves metrics on --metrics-address with /healthz liveness and /readyz readiness, and bounds every container', () => {
      const driver = container(objects, 'driver');
      const port = values.metrics.port;
      assert.equal(argValue(driver, 'metrics-address'), `:${port}`);
      assert.deepEqual(driver.ports?.find((p) => p.name === 'metrics'), { name: 'metrics', containerPort: port, protocol: 'TCP' });
      assert.deepEqual(driver.readinessProbe?.httpGet, { path: '/readyz', port: 'metrics' });
      assert.deepEqual(driver.livenessProbe?.httpGet, { path: '/healthz', port: values.driver.livenessViaCsiProbe ? 'healthz' : 'metrics' });
      for (const name of ['driver', 'node-driver-registrar', 'liveness-probe']) {
        const c = container(objects, name);
        assert.ok(c.resources?.requests?.['cpu'] && c.resources.requests['memory'], `${name} has cpu and memory requests`);
        assert.ok(c.resources?.limits?.['memory'], `${name} has a memory limit`);
        if (name !== 'driver') {
          assert.notEqual(c.securityContext?.['privileged'], true, `${name} is not privileged`);
          assert.equal(c.securityContext?.['allowPrivilegeEscalation'], false);
        }
      }
    });

    it('grants the least RBAC: read SecretProviderClasses, events only when enabled, nothing else', () => {
      const role = findOne(objects, 'ClusterRole') as unknown as { metadata: { name: string }; rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
      // The class cache only GETs by name (src/kube/class-cache.ts: no watch), so no list/watch.
      const expected = [{ apiGroups: ['secrets-store.csi.x-k8s.io'], resources: ['secretproviderclasses'], verbs: ['get'] }];
      const gcp = values.providers['gcp'];
      const serviceAccountRule = { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get'] };
      if (gcp?.enabled === true && gcp.serviceAccountAnnotations === true) expected.push(serviceAccountRule);
      if (values.events.enabled) expected.push({ apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] });
      // The driver records Events exactly when it may.
      assert.equal(argValue(container(objects, 'driver'), 'kube-events'), values.events.enabled ? 'true' : undefined);
      assert.deepEqual(role.rules, expected);
      // The opt-in gcp rule reads service-account objects (annotations); nothing else may touch them.
      const flat = JSON.stringify(role.rules.filter((r) => JSON.stringify(r) !== JSON.stringify(serviceAccountRule)));
      for (const forbidden of ['"*"', 'secrets"', 'serviceaccounts', 'token', 'impersonate', 'pods']) assert.ok(!flat.includes(forbidden), `no rule mentions ${forbidden}`);
      assert.equal(argValue(container(objects, 'driver'), 'gcp-service-account-annotations'), gcp?.enabled === true && gcp.serviceAccountAnnotations === true ? 'true' : undefined);
      const binding = findOne(objects, 'ClusterRoleBinding') as unknown as { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] };
      assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
      const sa = findOne(objects, 'ServiceAccount');
      assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'credmount' }]);
      if (values.serviceAccount.name !== '') assert.equal(sa.metadata.name, values.serviceAccount.name);
    });

    it('ships the SecretProviderClass CRD (secrets-store.csi.x-k8s.io/v1) unless told not to, kept on uninstall', () => {
      const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition') as unknown as {
        metadata: { name: string; annotations?: Record<string, string> };
        spec: { group: string; scope: string; names: { kind: string; plural: string }; versions: { name: string; served: boolean; storage: boolean; schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } } } }[] };
      }[];
      if (String(values.secretProviderClassCRD.install) === 'false') {
        assert.equal(crds.length, 0);
        return;
      }
      const crd = crds[0];
      assert.ok(crd);
      assert.equal(crd.metadata.name, 'secretproviderclasses.secrets-store.csi.x-k8s.io');
      assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
      assert.equal(crd.spec.group, 'secrets-store.csi.x-k8s.io');
      assert.equal(crd.spec.scope, 'Namespaced');
      assert.deepEqual(crd.spec.names.kind, 'SecretProviderClass');
      assert.deepEqual(crd.spec.versions.map((v) => [v.name, v.served, v.storage]), [['v1', true, true], ['v1alpha1', true, false]]);
      for (const version of crd.spec.versions) assert.deepEqual(Object.keys(version.schema.openAPIV3Schema.properties.spec.properties).sort(), ['parameters', 'provider', 'secretObjects']);
    });
  });
}
