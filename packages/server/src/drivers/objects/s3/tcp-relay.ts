/**
 * Test support (not part of the runtime): a TCP relay to host:port on a fixed loopback port that a test can
 * cut, so the S3 endpoint "goes away" for one client while the others keep talking to radosgw directly.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpRelay {
  /** http://127.0.0.1:PORT, the relay's address; the port stays the same across stop()/start(). */
  readonly endpoint: string;
  /** Resets every relayed connection and stops listening: connections are reset, then refused. */
  stop(): void;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Why not always resetAndDestroy(): a socket whose writable side has ended (pipe() ends it when the other side
 * does) has a shutdown request in flight, and libuv refuses to reset it (EINVAL). Node then never closes the
 * handle, and at exit the process spins in its handle cleanup for ever. That was the "test process hangs at exit
 * after a backup fails mid-way" of the S3 outage test: the repository left nothing open, this relay did.
 */
function cut(s: Socket): void {
  if (s.destroyed) return;
  if (s.writableEnded || s.connecting) s.destroy();
  else s.resetAndDestroy();
}

export async function startTcpRelay(host: string, port: number): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let relayPort = 0;
  const listen = async () => {
    const srv = createServer((client) => {
      const up = connect(port, host);
      for (const s of [client, up]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          up.destroy();
        });
      }
      client.pipe(up);
      up.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(relayPort, '127.0.0.1', () => resolve());
    });
    relayPort = (srv.address() as { port: number }).port;
    server = srv;
  };
  const stop = () => {
    server?.close();
    server = undefined;
    for (const s of sockets) cut(s);
  };
  await listen();
  return {
    endpoint: `http://127.0.0.1:${relayPort}`,
    stop,
    start: async () => {
      if (!server) await listen();
    },
    close: async () => stop(),
  };
}
