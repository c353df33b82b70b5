/**
 * The SSH nodes of one core: one SshDocker (and so one SSH link) per node address, shared by every
 * Docker client and tunnel made for that node, closed when the node is removed or the core closes.
 */
import { sshDockerOptions, type SshDocker } from './docker-ssh.js';
import type { SshLinkOptions } from './ssh-link.js';
import type { SshNodeTarget } from './ssh-target.js';

export class SshNodes {
  private readonly nodes = new Map<string, { url: string; ssh: SshDocker }>();

  constructor(private readonly linkOptions?: (url: string) => SshLinkOptions) {}

  /** The node's SshDocker, made on first use; the same object for the same target. */
  get(target: SshNodeTarget): SshDocker {
    const key = JSON.stringify([target.url, target.knownHostsFile ?? null, target.identityFile ?? null, target.agent ?? null]);
    let node = this.nodes.get(key);
    if (!node) {
      node = { url: target.url, ssh: sshDockerOptions(target, this.linkOptions?.(target.url)) };
      this.nodes.set(key, node);
    }
    return node.ssh;
  }

  /** Closes the links to `url` (a removed node). */
  close(url: string): void {
    for (const [key, node] of this.nodes) {
      if (node.url !== url) continue;
      node.ssh.close();
      this.nodes.delete(key);
    }
  }

  closeAll(): void {
    for (const node of this.nodes.values()) node.ssh.close();
    this.nodes.clear();
  }
}
