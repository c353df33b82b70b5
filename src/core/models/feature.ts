/**
 * The models feature: the model library (imports, renames, removals) behind the `models.*` calls
 * and the `models.changed` event. Imports run as operations (progress, cancel).
 */
import type { CoreApi } from '../../shared/contract/index.js';
import type { DataPaths } from '../config/paths.js';
import type { CoreEvents } from '../events.js';
import type { Operations } from '../operations/operations.js';
import type { Db } from '../store/database.js';
import { ModelsRepo } from '../store/repositories/models-repo.js';
import type { Feature } from '../feature.js';
import { ModelLibrary } from './library.js';

export interface ModelsFeature extends Feature {
  readonly calls: Pick<CoreApi, 'models.list' | 'models.get' | 'models.import' | 'models.rename' | 'models.remove'>;
  /** The library, for the features that read models (hardware's fit, downloads' imports). */
  readonly library: ModelLibrary;
}

export function createModelsFeature(deps: { db: Db; events: CoreEvents; paths: DataPaths; operations: Operations }): ModelsFeature {
  const { events, operations } = deps;
  const library = new ModelLibrary(new ModelsRepo(deps.db), deps.paths.models, (list) => events.emit('models.changed', list));
  library.sweepUnfinishedImports((line) => process.stderr.write(`aima: ${line}\n`));
  return {
    library,
    events: ['models.changed'],
    calls: {
      'models.list': async () => library.list(),
      'models.get': async ({ name }) => library.get(name),
      'models.import': async ({ operationId, mode, ...req }) =>
        operations.run({ id: operationId, label: `Importing ${req.path}`, unit: 'bytes' }, (op) => library.import({ ...req, mode: mode ?? 'link' }, op)),
      'models.rename': async ({ name, newName }) => library.rename(name, newName),
      'models.remove': async ({ name }) => library.remove(name),
    },
    close() {},
  };
}
