/** What a running backup or restore has done so far; kept in memory (it is lost, rightly, with the process). */
export interface BackupProgressState {
  operation: 'backup' | 'restore';
  bytesDone: number;
  bytesTotal: number;
}

export type ProgressObserver = (backupId: string, operation: BackupProgressState['operation'], fraction: number | null) => void;

/**
 * Progress of running backup operations, keyed by backup id. Cinder's bodies have no field for it and
 * clients validate them strictly, so it is served by a cinderbox extension route instead.
 */
export class BackupProgress {
  private readonly running = new Map<string, BackupProgressState>();
  private readonly observers: ProgressObserver[] = [];

  /** `listener` hears every update (fraction 0..1) and, with null, the end (the event stream's feed). */
  observe(listener: ProgressObserver): void {
    this.observers.push(listener);
  }

  private tell(backupId: string, state: BackupProgressState, fraction: number | null): void {
    for (const o of this.observers) o(backupId, state.operation, fraction);
  }

  start(backupId: string, operation: BackupProgressState['operation'], bytesTotal: number): (p: { bytesDone: number; bytesTotal: number }) => void {
    const state: BackupProgressState = { operation, bytesDone: 0, bytesTotal };
    this.running.set(backupId, state);
    this.tell(backupId, state, 0);
    return (p) => {
      state.bytesDone = p.bytesDone;
      state.bytesTotal = p.bytesTotal;
      if (this.observers.length > 0) this.tell(backupId, state, p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 0);
    };
  }

  finish(backupId: string): void {
    const state = this.running.get(backupId);
    this.running.delete(backupId);
    if (state) this.tell(backupId, state, null);
  }

  get(backupId: string): BackupProgressState | undefined {
    return this.running.get(backupId);
  }
}
