import type { Database } from 'better-sqlite3';

/** A numbered forward migration; runs inside a transaction, never edited once shipped. */
export interface Migration {
  version: number;
  name: string;
  up(db: Database): void;
}
