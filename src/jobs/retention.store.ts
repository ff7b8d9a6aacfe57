/** Deletion of expired event records. */
export interface EventRetentionStore {
  /**
   * Deletes at most `limit` records older than `cutoff` (epoch ms) and returns how many it deleted.
   * One statement: concurrent callers never delete a record twice nor block writers for long.
   */
  deleteOlderThan(cutoff: number, limit: number): Promise<number>;
}
