/**
 * Runs before every test file (vitest.config.ts `setupFiles`). A proxy set for the machine (a
 * corporate HTTPS_PROXY) would send the tests' loopback Hubs and mirrors through it: tests start
 * without the proxy variables, and the proxy tests set their own.
 */
import { PROXY_VARIABLES } from './proxy.js';

for (const name of PROXY_VARIABLES) delete process.env[name];
