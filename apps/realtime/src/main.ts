import { ConfigError, loadConfig } from '#config';
import { createApp } from './bootstrap.js';

// The one place that reads the environment: a bad value stops the start with its name.
let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`Configuration error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
await createApp(config);
