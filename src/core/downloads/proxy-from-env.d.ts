// proxy-from-env ships no types; @types/proxy-from-env describes its 1.x. Its one function, as 2.x documents it.
declare module 'proxy-from-env' {
  /** The proxy URL for `url` from the environment (curl's rules, NO_PROXY applied), or '' for a direct connection. */
  export function getProxyForUrl(url: string | URL): string;
}
