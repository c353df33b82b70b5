/**
 * A host joined with a port, as URLs, Ray's `--address` and torch's rendezvous address take it: an
 * IPv6 literal goes in brackets (`[fd00::1]:6379`), or its own colons would be read as the port's.
 * A host name never holds a colon, so a colon means an IPv6 literal (a zone id such as
 * `fe80::1%eth0` included).
 */

/** The host as it goes before `:port` or into a URL: an IPv6 literal in brackets; anything else, or one already bracketed, as is. */
export function hostForPort(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** `host:port`, with an IPv6 literal in brackets. */
export function joinHostPort(host: string, port: number | string): string {
  return `${hostForPort(host)}:${port}`;
}

/** The host as a socket call takes it: the brackets a URL puts around an IPv6 literal (`new URL(...).hostname`) removed. */
export function unbracketHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
