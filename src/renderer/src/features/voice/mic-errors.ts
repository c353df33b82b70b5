/** getUserMedia failures as messages that say what to do. Pure. */

/** What a getUserMedia failure means for the user, and what to do about it. */
export function microphoneErrorMessage(err: unknown): string {
  const name = (err as { name?: string })?.name;
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Microphone access was denied. Allow the microphone for this page (the icon in the address bar, or the system privacy settings), then press Start again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No microphone was found. Plug one in (or pick another in the list) and press Start again.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The microphone is in use by another application or could not be opened. Close the other application and press Start again.';
    default:
      return `The microphone could not be opened: ${(err as Error)?.message ?? String(err)}.`;
  }
}

/**
 * Why a page without a secure context has no microphone, and how to get one: browsers give the
 * microphone only to HTTPS pages and to http://localhost / 127.0.0.1. A page opened at another
 * name over plain HTTP (another machine on the network) needs AIMA's HTTPS, which it serves on
 * the same port once it listens on the network. Pure: takes the page's location.
 */
export function insecureContextMessage(loc: { protocol: string; hostname: string; port: string }): string {
  const port = loc.port ? `:${loc.port}` : '';
  const host = loc.hostname.includes(':') && !loc.hostname.startsWith('[') ? `[${loc.hostname}]` : loc.hostname;
  return (
    `The microphone needs HTTPS: browsers give it only to secure pages, and this page is plain HTTP at ${host}. ` +
    `Open https://${host}${port}/ instead — AIMA serves HTTPS on the same port once it listens on the network ` +
    '(Settings → Remote access → Listen on the network, where you also download its certificate to trust on this machine).'
  );
}
