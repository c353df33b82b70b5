/**
 * The names and addresses other machines use to reach this one: what the issued certificate
 * covers, what the Host check accepts when listening beyond loopback, and the URLs the Settings
 * page shows. Pure: the caller passes the host name and interfaces (os.hostname(), os.networkInterfaces()).
 */
import { isIP } from 'node:net';

export interface NameSources {
  hostname: string;
  /** Interface addresses, as os.networkInterfaces() gives them (flattened). */
  addresses: readonly { address: string; internal: boolean; family: string }[];
  /** The bind address (0.0.0.0 and :: stand for every interface). */
  bindHost: string;
  /** Names the user added (a DNS name of the machine that the resolver does not report). */
  extra?: readonly string[];
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** Lower-cased names and addresses, loopback included, without duplicates, names first. */
export function serverNames(src: NameSources): string[] {
  const names: string[] = [];
  const add = (n: string) => {
    const v = n.trim().toLowerCase().replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    if (v && !names.includes(v)) names.push(v);
  };
  for (const n of src.extra ?? []) add(n);
  if (src.hostname) {
    add(src.hostname);
    // mDNS (Bonjour/Avahi) answers for <hostname>.local on most desktops.
    if (!src.hostname.includes('.')) add(`${src.hostname}.local`);
  }
  add('localhost');
  if (!WILDCARDS.has(src.bindHost)) add(src.bindHost);
  const v6 = src.bindHost === '::';
  for (const a of src.addresses) {
    // A link-local IPv6 address needs a zone id in a URL: no use in a certificate.
    if (a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:')) continue;
    if (src.bindHost === '0.0.0.0' && a.family !== 'IPv4') continue;
    if (WILDCARDS.has(src.bindHost) || a.internal) add(a.address);
  }
  add('127.0.0.1');
  if (v6 || src.bindHost === '::1') add('::1');
  return [...names.filter((n) => !isIP(n)), ...names.filter((n) => isIP(n))];
}

/** A name as it goes in a URL's authority (IPv6 in brackets). */
export const urlHost = (name: string) => (isIP(name) === 6 ? `[${name}]` : name);

/** Names other machines can use: loopback left out. */
export function remoteNames(names: readonly string[]): string[] {
  return names.filter((n) => n !== 'localhost' && !/^127\./.test(n) && n !== '::1');
}
