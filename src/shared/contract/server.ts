/** The core's listener: where it is bound, the URLs other machines use, its HTTPS certificate; and rebinding it. */
import { z } from 'zod';

/** An address to bind: an IPv4 or IPv6 address (0.0.0.0 and :: for every interface) or localhost. */
export const BindHost = z
  .string()
  .trim()
  .regex(/^(localhost|\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/, 'an address to bind: 127.0.0.1 (this machine only), 0.0.0.0 or :: (every network), or one address of this machine');

/** A DNS name clients use for the host. */
export const ServerName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, 'a DNS name such as gpu-box.lan');

export const ServerStatus = z.object({
  /** The address bound. */
  host: z.string(),
  port: z.number().int(),
  /** The URL on the host (plain HTTP over loopback). */
  localUrl: z.string(),
  /** Bound beyond loopback. */
  remote: z.boolean(),
  /** HTTPS is served (beside plain HTTP, on the same port). */
  secure: z.boolean(),
  /** URLs other machines use, one per name or address of the host. */
  urls: z.array(z.string()),
  tls: z
    .object({
      source: z.enum(['install-ca', 'user']),
      /** The install CA's SHA-256 fingerprint (null with a user certificate). */
      caFingerprint: z.string().nullable(),
      /** Where the install CA's certificate downloads (a path on this server). */
      caPath: z.string().nullable(),
      /** Names the server certificate covers. */
      names: z.array(z.string()),
      validTo: z.string(),
    })
    .nullable(),
});
export type ServerStatus = z.infer<typeof ServerStatus>;

export const ServerListenParams = z
  .object({
    /** The address to bind; beyond loopback only once an API key exists. */
    host: BindHost,
    /** DNS names of the host besides those it reports itself (covered by the certificate). */
    names: z.array(ServerName).max(20).optional(),
  })
  .strict();
export type ServerListenParams = z.infer<typeof ServerListenParams>;
