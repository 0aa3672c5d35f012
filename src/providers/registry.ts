import { Errors } from '../errors/catalogue.js';
import type { Provider } from './provider.js';

/** The providers this driver instance serves, by the name pods use in `provider:`. */
export class ProviderRegistry {
  private readonly providers = new Map<string, Provider>();

  constructor(providers: Iterable<Provider> = []) {
    for (const provider of providers) this.register(provider);
  }

  register(provider: Provider): void {
    if (this.providers.has(provider.name)) throw new Error(`provider ${provider.name} is registered twice`);
    this.providers.set(provider.name, provider);
  }

  /** The provider for a pod's `provider:` attribute; INVALID_ARGUMENT listing the known ones. */
  get(name: string): Provider {
    const provider = this.providers.get(name);
    if (provider === undefined) throw Errors.unknownProvider(name, this.names());
    return provider;
  }

  names(): string[] {
    return [...this.providers.keys()].sort();
  }

  async close(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.close?.()));
  }
}
