/** `aima node add|list|set|rm`: Docker engines (this machine's and other machines') services may run on. */
import path from 'node:path';
import type { Command } from 'commander';
import type { NodeSummary } from '../../shared/contract/nodes.js';
import { formatBytes } from '../../shared/format-bytes.js';
import { action, output, withConnection } from '../context.js';
import { withProgress } from '../progress.js';

function describeNode(n: NodeSummary): string {
  const head = `${n.name.padEnd(12)} ${n.docker}`;
  if (!n.reachable) return `${head}\n  unreachable: ${n.error ?? 'no answer'}\n  cluster link: ${describeLink(n)}`;
  const gpus = n.gpus.length > 0 ? n.gpus.map((g) => `${g.index}: ${g.name} (${formatBytes(g.memoryTotalMiB * 1024 * 1024)})`).join(', ') : 'none';
  const lines = [
    head,
    `  Docker ${n.dockerVersion ?? '?'}, ${n.arch ?? 'unknown architecture'}, ${n.cpus ?? '?'} CPUs, ${n.memoryBytes !== null ? formatBytes(n.memoryBytes) : '?'} RAM`,
    `  GPUs: ${gpus}; NVIDIA runtime: ${n.nvidiaRuntime ? 'yes' : 'no'}${n.gpuNote ? ` (${n.gpuNote})` : ''}`,
    `  cluster link: ${describeLink(n)}`,
  ];
  if (n.services.length > 0) lines.push(`  services: ${n.services.join(', ')}`);
  return lines.join('\n');
}

/** The address other nodes of a span reach it at, and the interface NCCL and Gloo use. */
function describeLink(n: NodeSummary): string {
  if (!n.cluster) return 'none';
  return `${n.cluster.address}${n.cluster.interface ? ` on ${n.cluster.interface} (NCCL/Gloo)` : ' (NCCL/Gloo choose the interface)'}`;
}

const CLUSTER_ADDRESS_HELP = 'the address the other nodes of a span reach this one at (Ray, NCCL, Gloo): IPv4, IPv6 or host name; none clears it';
const CLUSTER_INTERFACE_HELP = 'the network interface of that link, for NCCL_SOCKET_IFNAME and GLOO_SOCKET_IFNAME (e.g. enp1s0f1np1); none clears it';

export function registerNode(program: Command): void {
  const node = program.command('node').description("Docker engines services run on: this machine's (`local`) and other machines'");
  node
    .command('add <name>')
    .description("Add another machine's Docker engine (its TLS files and the connection are checked first; nothing is saved on a refusal)")
    .requiredOption('--docker <url>', 'the engine: tcp://host:2376 (with --tls-dir) or ssh://user@host')
    .option('--tls-dir <dir>', 'tcp://: folder with ca.pem, cert.pem and key.pem (as for `docker --tlsverify`), read by the core')
    .option('--identity-file <file>', 'ssh://: the private key (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)')
    .option('--known-hosts <file>', "ssh://: the known_hosts file the node's host key must be in (default ~/.ssh/known_hosts)")
    .option('--cluster-address <ip>', CLUSTER_ADDRESS_HELP)
    .option('--cluster-interface <if>', CLUSTER_INTERFACE_HELP)
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, opts: { docker: string; tlsDir?: string; identityFile?: string; knownHosts?: string; clusterAddress?: string; clusterInterface?: string; json?: boolean }) => {
        const file = (f: string | undefined) => (f ? path.resolve(f) : undefined);
        await withConnection(async (conn) => {
          // The steps (checks, SSH, the engine, the GPUs, saving) show on stderr; Ctrl+C cancels the add and nothing is saved.
          const n = await withProgress(conn, (operationId) =>
            conn.api['nodes.add']({
              name,
              docker: opts.docker,
              tlsDir: file(opts.tlsDir),
              identityFile: file(opts.identityFile),
              knownHostsFile: file(opts.knownHosts),
              clusterAddress: opts.clusterAddress,
              clusterInterface: opts.clusterInterface,
              operationId,
            }),
          );
          output(opts.json, n, (x) => `Added node "${x.name}".\n${describeNode(x)}`);
        });
      }),
    );
  node
    .command('list')
    .description('List the nodes: reachable, Docker version, CPU/RAM, GPUs, NVIDIA runtime, cluster link')
    .option('--refresh', 'ask every engine again now')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { refresh?: boolean; json?: boolean }) => {
        await withConnection(async (conn) => {
          output(opts.json, await conn.api['nodes.list']({ refresh: opts.refresh }), (list) => list.map(describeNode).join('\n'));
        });
      }),
    );
  node
    .command('set <name>')
    .description("Change a node's settings (`local` too): its cluster link for services across nodes (only the options given change)")
    .option('--cluster-address <ip>', CLUSTER_ADDRESS_HELP)
    .option('--cluster-interface <if>', CLUSTER_INTERFACE_HELP)
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, opts: { clusterAddress?: string; clusterInterface?: string; json?: boolean }) => {
        await withConnection(async (conn) => {
          const n = await conn.api['nodes.set']({ name, clusterAddress: opts.clusterAddress, clusterInterface: opts.clusterInterface });
          output(opts.json, n, (x) => `Node "${x.name}": cluster link ${describeLink(x)}.`);
        });
      }),
    );
  node
    .command('rm <name>')
    .description('Forget a node and its credentials (refused while services are on it)')
    .action(
      action(async (name: string) => {
        await withConnection(async (conn) => {
          await conn.api['nodes.remove']({ name });
          process.stdout.write(`Removed node "${name}".\n`);
        });
      }),
    );
}
