import { enableDriverCompileCache } from './compile-cache.js';
import { ConfigError, driverUsage, parseDriverConfig } from './config.js';

/** `credmount driver`: serve until SIGTERM/SIGINT, then stop gracefully. */
export async function runDriverCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(driverUsage());
    return 0;
  }
  let config;
  try {
    config = parseDriverConfig(argv);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`credmount driver: ${error.message}\n\n${driverUsage()}`);
      return 2;
    }
    throw error;
  }
  // Before the driver's dependencies load: they are what the cache is for.
  const compileCache = enableDriverCompileCache(config.stateDir);
  const { startDriver } = await import('./driver-app.js');
  const app = await startDriver(config);
  app.logger.info('directory' in compileCache ? { compileCache: compileCache.directory } : { compileCacheUnavailable: compileCache.unavailable }, 'module compile cache');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      app.logger.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await app.stop();
  return 0;
}
