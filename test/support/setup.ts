/**
 * Runs before every test file (vitest.config.ts `setupFiles`). A proxy set for the machine (a
 * corporate HTTPS_PROXY) would send the tests' loopback Hubs and mirrors through it: tests start
 * without the variables downloads/proxy.ts follows, and the proxy tests set their own.
 */
for (const scheme of ['http', 'https', 'all', 'no']) {
  delete process.env[`${scheme}_proxy`];
  delete process.env[`${scheme.toUpperCase()}_PROXY`];
}
