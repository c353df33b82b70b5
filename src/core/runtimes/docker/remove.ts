/** Removing a container so that it is gone when the call returns. */
import type Docker from 'dockerode';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Removes a container and returns once it is gone. A removal already under way (a die handler's,
 * say) answers 409 "removal already in progress" while the container is still listed: this waits
 * for that one to end, so whoever stops a service does not seem to keep the container.
 */
export async function removeUntilGone(docker: Docker, id: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await docker.getContainer(id).remove({ force: true });
      return;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 409 || Date.now() > deadline) return;
    }
    await sleep(50);
  }
}
