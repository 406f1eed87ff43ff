/** What a running backup or restore has done so far; kept in memory (it is lost, rightly, with the process). */
export interface BackupProgressState {
  operation: 'backup' | 'restore';
  bytesDone: number;
  bytesTotal: number;
}

/**
 * Progress of running backup operations, keyed by backup id. Cinder's bodies have no field for it and
 * clients validate them strictly, so it is served by a cinderbox extension route instead.
 */
export class BackupProgress {
  private readonly running = new Map<string, BackupProgressState>();

  start(backupId: string, operation: BackupProgressState['operation'], bytesTotal: number): (p: { bytesDone: number; bytesTotal: number }) => void {
    const state: BackupProgressState = { operation, bytesDone: 0, bytesTotal };
    this.running.set(backupId, state);
    return (p) => {
      state.bytesDone = p.bytesDone;
      state.bytesTotal = p.bytesTotal;
    };
  }

  finish(backupId: string): void {
    this.running.delete(backupId);
  }

  get(backupId: string): BackupProgressState | undefined {
    return this.running.get(backupId);
  }
}
