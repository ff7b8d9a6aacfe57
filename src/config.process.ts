import { ConfigError, loadConfig, type Config } from './config.js';

/**
 * The configuration of this process's environment, for entry points (the server, the CLI, the
 * bench seeder): an invalid one prints every problem and exits 1, without a stack trace.
 */
export function configOrExit(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
