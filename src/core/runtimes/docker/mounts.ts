/** A plan's mounts as Docker's API takes them: host paths bound, named volumes made on first use. */
import type Docker from 'dockerode';
import type { DockerMount } from '../types.js';

type MountSettings = NonNullable<NonNullable<Docker.ContainerCreateOptions['HostConfig']>['Mounts']>[number];

export function dockerMounts(mounts: readonly DockerMount[]): MountSettings[] {
  return mounts.map((m) =>
    'volume' in m ? { Type: 'volume' as const, Source: m.volume, Target: m.target, ReadOnly: m.readOnly } : { Type: 'bind' as const, Source: m.source, Target: m.target, ReadOnly: m.readOnly },
  );
}
