/**
 * A node's cluster link after a change (`nodes.set`, `nodes.add`): only the fields given change;
 * a null address clears the link, and an interface needs an address. Pure.
 */
import type { NodeClusterLink } from '../../shared/contract/nodes.js';
import { AimaError } from '../../shared/errors.js';

/** The link fields as parsed by the contract: undefined leaves a field as it is, null clears it. */
export interface ClusterLinkChange {
  clusterAddress?: string | null;
  clusterInterface?: string | null;
}

/** The node's link after `change`; throws bad-request, with the fix, for an interface without an address. */
export function nextClusterLink(node: string, current: NodeClusterLink | null, change: ClusterLinkChange): NodeClusterLink | null {
  const address = change.clusterAddress === undefined ? (current?.address ?? null) : change.clusterAddress;
  if (address === null) {
    if (change.clusterInterface) {
      const fix = `Give both: \`aima node set ${node} --cluster-address IP --cluster-interface ${change.clusterInterface}\` (IP: the address the other nodes reach "${node}" at).`;
      if (change.clusterAddress === null) throw new AimaError('bad-request', `--cluster-address none clears node "${node}"'s cluster link, so --cluster-interface ${change.clusterInterface} has no address to go with.`, fix);
      throw new AimaError('bad-request', `--cluster-interface ${change.clusterInterface} needs a cluster address, and node "${node}" has none.`, fix);
    }
    return null;
  }
  const iface = change.clusterInterface === undefined ? (current?.interface ?? null) : change.clusterInterface;
  return { address, interface: iface };
}
