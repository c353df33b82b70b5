/**
 * The nodes feature: the registry of Docker engines services may run on (`local` and other
 * machines'), the calls `nodes.list`, `nodes.add`, `nodes.remove`, and `nodes.changed` when a node
 * is added or removed or its reachability changes. The services feature takes the registry for its
 * per-node Docker clients and reachability.
 */
import type Docker from 'dockerode';
import type { CoreApi } from '../../shared/contract/index.js';
import { NodeAddParams, NodeSetParams } from '../../shared/contract/nodes.js';
import type { CoreEvents } from '../events.js';
import type { Operations } from '../operations/operations.js';
import type { Feature } from '../feature.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { Db } from '../store/database.js';
import { NodesRepo } from '../store/repositories/nodes-repo.js';
import { NodeRegistry, type NodeRegistryOptions } from './registry.js';

export type NodesApi = Pick<CoreApi, 'nodes.list' | 'nodes.add' | 'nodes.set' | 'nodes.remove'>;

export interface NodesOptions {
  db: Db;
  events: CoreEvents;
  secrets: SecretStore;
  localClient: () => Docker;
  /** Progress and cancel for `nodes.add` (its `operationId`); without it, an add reports nothing and cannot be cancelled. */
  operations?: Operations;
  /** Heartbeat and facts seams (tests). */
  heartbeatMs?: number;
  lostAfterMs?: number;
  readFacts?: NodeRegistryOptions['readFacts'];
}

export interface NodesFeature extends Feature {
  readonly calls: NodesApi;
  readonly registry: NodeRegistry;
}

export function createNodesFeature(opts: NodesOptions): NodesFeature {
  const registry = new NodeRegistry({ repo: new NodesRepo(opts.db), secrets: opts.secrets, localClient: opts.localClient, heartbeatMs: opts.heartbeatMs, lostAfterMs: opts.lostAfterMs, readFacts: opts.readFacts });
  registry.onChange(() => opts.events.emit('nodes.changed', registry.summaries()));
  const calls: NodesApi = {
    'nodes.list': async ({ refresh }) => registry.list(refresh ?? false),
    // Parsed here too: in-process callers skip the adapters' parse, and the link fields' `none` means null.
    'nodes.add': async (p) => {
      const { operationId, ...params } = NodeAddParams.parse(p);
      if (!opts.operations) return registry.add(params);
      return opts.operations.run({ id: operationId, label: `Adding node ${params.name}`, unit: 'items' }, (op) => registry.add(params, op));
    },
    'nodes.set': async (p) => registry.set(NodeSetParams.parse(p)),
    'nodes.remove': async ({ name }) => {
      registry.remove(name);
      return { name, removed: true };
    },
  };
  return { calls, registry, events: ['nodes.changed'], close: () => registry.close() };
}
