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
