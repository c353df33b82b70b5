/**
 * What a service's engine on a TCP node needs to serve TLS and require a key: a server certificate
 * from the per-install CA for the names the gateway dials (the node's host name or address), its
 * private key, and a random per-service key. The gateway trusts the install CA for that upstream
 * and adds the key as a bearer token.
 */
import { randomBytes } from 'node:crypto';
import { ensureInstallCa, LEAF_DAYS } from '../../server/tls/install-ca.js';
import { issueLeaf } from '../../server/tls/issue-cert.js';
import type { RemoteAccess } from '../../engines/catalog-schema.js';
import { engineTlsFiles, type ContainerFile } from './container-files.js';
import { tlsEngineArgs } from './remote-reach.js';

export interface EngineCredentials {
  certPem: string;
  keyPem: string;
  /** The install CA's certificate: what the gateway trusts for this upstream. */
  caCertPem: string;
  /** The per-service key the engine requires (`Authorization: Bearer`). */
  apiKey: string;
}

/** A new per-service key: 256 random bits, URL-safe. */
const newServiceKey = (): string => randomBytes(32).toString('base64url');

/** Issues the engine's certificate for `names` (as the gateway dials the node) and a new key. */
export function issueEngineCredentials(dataDir: string, names: readonly string[], now = new Date()): EngineCredentials {
  const ca = ensureInstallCa(dataDir, now);
  const leaf = issueLeaf(ca, names, LEAF_DAYS, now);
  return { certPem: leaf.certPem, keyPem: leaf.keyPem, caCertPem: ca.certPem, apiKey: newServiceKey() };
}

export interface TlsReach {
  /** Appended to the engine's arguments. */
  args: string[];
  /** Put into the created container before it starts (putContainerFiles). */
  files: ContainerFile[];
  /** For the gateway's route: the bearer key and the CA it trusts for this upstream. */
  apiKey: string;
  caCertPem: string;
}

/**
 * Everything a service of a TLS-capable engine on a TCP node needs: a certificate for the address
 * the gateway dials (`nodeAddress`, the host of the node's Docker endpoint), a new key, the
 * engine's arguments for both, and the files to put into its container.
 */
export function prepareTlsReach(access: RemoteAccess, dataDir: string, nodeAddress: string, now = new Date()): TlsReach {
  const creds = issueEngineCredentials(dataDir, [nodeAddress], now);
  return { args: tlsEngineArgs(access, creds.apiKey), files: engineTlsFiles(creds), apiKey: creds.apiKey, caCertPem: creds.caCertPem };
}
