/**
 * All migrations in order. Append only: a shipped migration is never changed, a new schema is a
 * new file with the next number, and each gets an upgrade test that starts from a database holding
 * rows.
 */
import type { Migration } from './types.js';
import { migration001 } from './001-settings.js';
import { migration002 } from './002-settings-updated-at.js';
import { migration003 } from './003-models.js';
import { migration004 } from './004-services.js';
import { migration005 } from './005-downloads.js';
import { migration006 } from './006-gateway.js';
import { migration007 } from './007-voice.js';
import { migration008 } from './008-scheduler.js';
import { migration009 } from './009-replicas.js';
import { migration010 } from './010-voice-recordings.js';
import { migration011 } from './011-download-source.js';
import { migration012 } from './012-nodes.js';
import { migration013 } from './013-service-span.js';
import { migration014 } from './014-node-cluster-links.js';
import { migration015 } from './015-service-model-path-on-node.js';
import { migration016 } from './016-service-hub-model.js';
import { migration017 } from './017-service-started-hub-model.js';

export const migrations: readonly Migration[] = [
  migration001,
  migration002,
  migration003,
  migration004,
  migration005,
  migration006,
  migration007,
  migration008,
  migration009,
  migration010,
  migration011,
  migration012,
  migration013,
  migration014,
  migration015,
  migration016,
  migration017,
];
export type { Migration } from './types.js';
