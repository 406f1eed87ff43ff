/**
 * Carries resource-change messages between the nodes that share one metadata store, so a node's event stream
 * also shows what the other nodes change. Messages are small JSON texts; delivery is best effort (a node that
 * is disconnected misses what was sent meanwhile, as an event stream's client that reconnects does).
 */
export interface ChangeFeed {
  /** Sends to every node listening, this one included. */
  send(message: string): void;
  onMessage(listener: (message: string) => void): void;
  close(): Promise<void>;
}
