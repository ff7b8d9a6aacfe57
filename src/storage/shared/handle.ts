/**
 * What a database handle of either dialect offers (storage/database.ts `Database`): its `kind`,
 * which the stores are picked by (storage/index.ts), and when what it wrote is durable.
 */
export interface DatabaseHandle<Kind extends 'sqlite' | 'postgres'> {
  kind: Kind;
  /** Resolves once every write made so far is committed; rejects if that commit failed. */
  settled(): Promise<void>;
}
