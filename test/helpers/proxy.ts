/**
 * A TCP proxy whose target can change, for tests that move a client from one hub to another
 * without it knowing (as a load balancer would after a hub is replaced).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface Proxy {
  url: string;
  /** Sends new connections to this port, and cuts every open one. */
  retarget(port: number): void;
  cut(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<Proxy> {
  let target = targetPort;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: target });
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const cut = () => {
    for (const s of open) s.destroy();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    retarget(p) {
      target = p;
      cut();
    },
    cut,
    close: () => {
      cut();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
