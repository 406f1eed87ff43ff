/**
 * Counts the HTTP requests an S3 client sends, by command, with a middleware in the SDK's stack below its retry
 * step (so each attempt counts): what the benchmark reports as requests per GiB, and what tests use to show that a
 * backup of already-stored chunks sends no request per chunk.
 */
import type { S3Client } from '@aws-sdk/client-s3';

export interface RequestCounts {
  /** Attempts by command name ('PutObjectCommand', …). */
  byCommand: Map<string, number>;
  total(): number;
  /** Requests of one command ('PutObject' or 'PutObjectCommand'). */
  of(command: string): number;
  reset(): void;
  /** Bytes sent in request bodies that have a known length (PUT bodies). */
  bytesSent: number;
}

/** Called for every attempt with the command name and its input (Bucket, Key…). */
export type RequestListener = (command: string, input: { Key?: string; Bucket?: string }) => void;

export function countRequests(client: S3Client, listener?: RequestListener): RequestCounts {
  const counts: RequestCounts = {
    byCommand: new Map(),
    bytesSent: 0,
    total() {
      let n = 0;
      for (const v of this.byCommand.values()) n += v;
      return n;
    },
    of(command: string) {
      return this.byCommand.get(command.endsWith('Command') ? command : `${command}Command`) ?? 0;
    },
    reset() {
      this.byCommand.clear();
      this.bytesSent = 0;
    },
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      counts.byCommand.set(name, (counts.byCommand.get(name) ?? 0) + 1);
      listener?.(name, args.input as { Key?: string; Bucket?: string });
      const req = args.request as { headers?: Record<string, string> } | undefined;
      const len = Number(req?.headers?.['content-length']);
      if (Number.isFinite(len)) counts.bytesSent += len;
      return next(args);
    },
    // The deserialize step runs once per attempt, after signing: one count per request on the wire.
    { step: 'deserialize', name: 'cinderboxRequestCounter', priority: 'low' },
  );
  return counts;
}
