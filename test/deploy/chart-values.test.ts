import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { DRIVER_FLAGS, parseDriverConfig, type DriverConfig } from '../../src/cli/config.js';
import { effectiveValues, exampleValuesFiles, findOne, lintChart, renderChart, renderChartError, type K8sObject } from './chart-support.js';

/**
 * The chart and the driver agree: the flags the chart renders are parsed by the driver's own
 * config parser, and values the API server or the driver would refuse fail `helm template` with
 * a message naming the value.
 */

function driverArgs(objects: readonly K8sObject[]): string[] {
  const ds = findOne(objects, 'DaemonSet') as unknown as { spec: { template: { spec: { containers: { name: string; args: string[] }[] } } } };
  const driver = ds.spec.template.spec.containers.find((c) => c.name === 'driver');
  assert.ok(driver);
  assert.equal(driver.args[0], 'driver');
  // Kubernetes expands $(NODE_NAME) from the env var; the driver never sees the literal.
  return driver.args.slice(1).map((a) => a.replace('$(NODE_NAME)', 'node-a'));
}

/**
 * Parse with the driver's own parser (strict: an unknown flag fails). Every provider the chart
 * knows is in the driver now, so nothing is set aside: a flag the driver dropped (as the
 * --gcp-kubernetes-* flags were) fails here.
 */
function parseAsDriver(args: string[]): { config: DriverConfig } {
  return { config: parseDriverConfig(args) };
}

const cases: { name: string; file: string | undefined }[] = [{ name: 'defaults', file: undefined }, ...(await exampleValuesFiles()).map((file) => ({ name: basename(file), file }))];

describe('the driver accepts the flags the chart renders', () => {
  for (const { name, file } of cases) {
    it(name, async () => {
      const values = (await effectiveValues(file)) as {
        driverName: string;
        stateDir: string;
        metrics: { port: number };
        driver: { defaultProvider: string };
        events: { enabled: boolean };
        providers: { vault: { enabled: boolean; audience: string; flags: { address: string } }; embedded: { enabled: boolean; audience: string } } & Record<string, { enabled: boolean }>;
      };
      const args = driverArgs(await renderChart({ valuesFiles: file === undefined ? [] : [file] }));
      for (const arg of args) {
        const flag = /^--([a-z0-9-]+)=/.exec(arg)?.[1];
        assert.ok(flag !== undefined, `${arg} is --flag=value`);
        assert.ok(flag in DRIVER_FLAGS, `--${flag} is a driver flag`);
      }
      const { config } = parseAsDriver(args);
      assert.equal(config.driverName, values.driverName);
      assert.equal(config.nodeId, 'node-a');
      assert.equal(config.stateDir, values.stateDir);
      assert.equal(config.endpoint, 'unix:///csi/csi.sock');
      assert.equal(config.metricsAddress, `:${values.metrics.port}`);
      assert.equal(config.defaultProvider, values.driver.defaultProvider);
      assert.equal(config.providers.includes('vault'), values.providers.vault.enabled);
      assert.deepEqual([...config.providers].sort(), Object.entries(values.providers).filter(([, p]) => p.enabled).map(([k]) => k).sort(), 'the driver loads exactly the enabled providers');
      assert.equal(config.providers.includes('embedded'), values.providers.embedded.enabled);
      if (values.providers.vault.enabled) {
        assert.equal(config.vault.audience, values.providers.vault.audience);
        assert.equal(config.vault.address, values.providers.vault.flags.address);
      }
      assert.equal(config.kube.events, values.events.enabled, '--kube-events follows events.enabled');
      const gcp = values.providers['gcp'] as { enabled: boolean; audience: string; serviceAccountAnnotations: boolean };
      if (gcp.enabled) {
        assert.equal(config.gcp.audience, gcp.audience);
        assert.equal(config.gcp.serviceAccountAnnotations, gcp.serviceAccountAnnotations);
      }
      if (values.providers.embedded.enabled) {
        assert.equal(config.embedded.audience, values.providers.embedded.audience);
        assert.equal(config.embedded.storeDir, '/etc/credmount/store');
      }
    });
  }

  it('maps a CA bundle ConfigMap to --vault-ca-cert and adds its directory to --vault-tls-dirs', async () => {
    const objects = await renderChart({ set: ['providers.vault.caBundle.configMap=vault-ca', 'providers.vault.flags.tls-dirs=/etc/vault-tls'] });
    const { config } = parseAsDriver(driverArgs(objects));
    assert.equal(config.vault.caCertPath, '/etc/credmount/vault-ca/ca.crt');
    assert.deepEqual(config.vault.tlsDirectories, ['/etc/vault-tls', '/etc/credmount/vault-ca']);
    const ds = findOne(objects, 'DaemonSet') as unknown as { spec: { template: { spec: { volumes: { name: string; configMap?: { name: string } }[] } } } };
    assert.deepEqual(ds.spec.template.spec.volumes.find((v) => v.name === 'vault-ca')?.configMap, { name: 'vault-ca' });
  });

  it('a provider block with new flags needs no template change (how gcp and certificates flags plug in)', async () => {
    const objects = await renderChart({ set: ['providers.gcp.enabled=true', 'providers.gcp.audience=p.svc.id.goog', 'providers.gcp.flags.sts-endpoint=https://sts.example'] });
    const args = driverArgs(objects);
    assert.ok(args.includes('--gcp-sts-endpoint=https://sts.example'));
    assert.ok(args.includes('--gcp-audience=p.svc.id.goog'));
    assert.ok(args.includes('--providers=gcp,vault'));
  });
});

describe('values the cluster or the driver would refuse fail helm template, naming the value', () => {
  const refusals: [string, string[], RegExp][] = [
    ['no provider enabled', ['providers.vault.enabled=false'], /no provider is enabled/],
    ['default provider not enabled', ['driver.defaultProvider=embedded'], /driver\.defaultProvider "embedded" is not an enabled provider/],
    ['gcp without its audience', ['providers.gcp.enabled=true'], /providers\.gcp\.audience is required/],
    ['a token shorter than Kubernetes allows', ['providers.vault.expirationSeconds=300'], /providers\.vault\.expirationSeconds must be at least 600/],
    ['an extra token shorter than Kubernetes allows', ['csiDriver.extraTokenRequests[0].audience=x', 'csiDriver.extraTokenRequests[0].expirationSeconds=60'], /csiDriver\.extraTokenRequests\[0\]\.expirationSeconds must be at least 600/],
    ['one audience with two lifetimes', ['csiDriver.extraTokenRequests[0].audience=vault', 'csiDriver.extraTokenRequests[0].expirationSeconds=7200'], /providers\.vault and csiDriver\.extraTokenRequests\[0\] request audience "vault" with different expirationSeconds/],
    ['embedded without the issuer keys', ['providers.embedded.enabled=true'], /providers\.embedded needs exactly one of flags\.jwks-url, flags\.jwks-file or jwksConfigMap/],
    ['embedded with two sources of keys', ['providers.embedded.enabled=true', 'providers.embedded.flags.jwks-url=https://x', 'providers.embedded.jwksConfigMap=jwks'], /providers\.embedded needs exactly one of/],
    ['an unknown CRD mode', ['secretProviderClassCRD.install=maybe'], /secretProviderClassCRD\.install must be auto, true or false, got "maybe"/],
  ];
  for (const [name, set, message] of refusals) {
    it(name, async () => {
      assert.match(await renderChartError({ set }), message);
    });
  }

  it('a misspelt or mistyped value fails against values.schema.json instead of being ignored', async () => {
    assert.match(await renderChartError({ set: ['providers.vault.flag.address=https://x'] }), /at '\/providers\/vault': additional properties 'flag' not allowed/);
    assert.match(await renderChartError({ set: ['metrics.prot=9000'] }), /at '\/metrics': additional properties 'prot' not allowed/);
    assert.match(await renderChartError({ set: ['driver.logLevel=verbose'] }), /at '\/driver\/logLevel': value must be one of/);
    assert.match(await renderChartError({ set: ['kubeletDir=var/lib/kubelet'] }), /at '\/kubeletDir'/);
  });

  it('helm lint --strict passes for the defaults and every example', async () => {
    for (const file of [undefined, ...(await exampleValuesFiles())]) {
      const output = await lintChart(file);
      assert.match(output, /1 chart\(s\) linted, 0 chart\(s\) failed/, `${file ?? 'defaults'}: ${output}`);
    }
  });

  it('providers that share an audience and lifetime share one tokenRequests entry', async () => {
    const objects = await renderChart({ set: ['providers.embedded.enabled=true', 'providers.embedded.audience=vault', 'providers.embedded.flags.jwks-url=https://x'] });
    const driver = findOne(objects, 'CSIDriver') as unknown as { spec: { tokenRequests: unknown[] } };
    assert.deepEqual(driver.spec.tokenRequests, [{ audience: 'vault', expirationSeconds: 3600 }]);
  });
});
