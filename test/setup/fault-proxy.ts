/**
 * A TCP proxy for fault tests: forwards 127.0.0.1:port to a target (the S3 server) and, on
 * request, breaks chosen HTTP requests mid-flight.
 *
 *     const px = await startProxy(swift.port);
 *     px.fault({ kind: 'drop', match: /partNumber=/, after: 2 * MiB, times: 3 });  // 3 parts cut at 2 MiB
 *     ... endpoint: px.endpoint ...
 *     px.stats.faults   // how many faults were injected
 *     await px.close();
 *
 * It follows HTTP/1.1 framing of the requests (request line, headers, Content-Length body; the
 * SDK sends no chunked bodies) so that a fault can pick requests by their request line (`match`,
 * e.g. /^PUT .*partNumber=/, /^POST .*uploadId=/) and count bytes from the start of the request
 * ('up') or of its response ('down'). Each injection uses one of `times` (Infinity: always).
 *  - 'drop': destroys both sockets once the request (or its response) has carried `after` bytes;
 *    the client sees a reset connection or a truncated response.
 *  - 'stall': stops forwarding both ways there and keeps the sockets open; the client's
 *    inactivity timeout has to notice.
 *  - 'slowdown' ('up' only): the request never reaches the server; the client gets
 *    `503 SlowDown` with Connection: close, as from a throttling S3 server.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Fault {
  kind: 'drop' | 'stall' | 'slowdown';
  direction: 'up' | 'down';
  /** Request lines to break ("PUT /bucket/key?partNumber=2&uploadId=... HTTP/1.1"); default: any. */
  match?: RegExp;
  /** Bytes of the request ('up', headers included) or response ('down') that pass first. */
  after: number;
  times: number;
}

export interface FaultProxy {
  endpoint: string;
  port: number;
  stats: { connections: number; requests: number; faults: number; lines: string[] };
  fault(f: Partial<Fault> & Pick<Fault, 'kind'>): void;
  clear(): void;
  /** Sockets still open (both sides of every connection). */
  open(): number;
  close(): Promise<void>;
}

const SLOWDOWN_BODY = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';
const HEAD_END = Buffer.from('\r\n\r\n');

export async function startProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
  let faults: Fault[] = [];
  const sockets = new Set<Socket>();
  const stats = { connections: 0, requests: 0, faults: 0, lines: [] as string[] };

  const pick = (dir: 'up' | 'down', line: string): Fault | undefined => {
    const f = faults.find((x) => x.direction === dir && x.times > 0 && (!x.match || x.match.test(line)));
    if (f) f.times--;
    return f;
  };

  const server: Server = createServer((client) => {
    stats.connections++;
    const upstream = connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    let dead = false;
    // Request framing (client → server).
    let head = Buffer.alloc(0);
    let inBody = false;
    let bodyLeft = 0;
    let reqBytes = 0;
    let upFault: Fault | undefined;
    let pendingDown: Fault | undefined; // armed for the response of the request being sent
    // Response side.
    let downFault: Fault | undefined;
    let downBytes = 0;

    const kill = () => {
      dead = true;
      client.destroy();
      upstream.destroy();
    };
    const act = (f: Fault) => {
      stats.faults++;
      if (f.kind === 'stall') {
        // Nothing more is forwarded; what arrives is read and dropped, so that a close is noticed.
        dead = true;
      } else {
        kill();
      }
    };
    const forwardUp = (piece: Buffer): boolean => {
      if (upFault && reqBytes + piece.length > upFault.after) {
        const keep = Math.max(0, upFault.after - reqBytes);
        if (keep) upstream.write(piece.subarray(0, keep));
        act(upFault);
        return false;
      }
      reqBytes += piece.length;
      if (!upstream.write(piece)) {
        client.pause();
        upstream.once('drain', () => !dead && client.resume());
      }
      return true;
    };
    const requestDone = () => {
      inBody = false;
      head = Buffer.alloc(0);
      upFault = undefined;
      if (pendingDown) {
        downFault = pendingDown;
        downBytes = 0;
        pendingDown = undefined;
      }
    };

    client.on('data', (d: Buffer) => {
      let rest = d;
      while (rest.length && !dead) {
        if (!inBody) {
          head = Buffer.concat([head, rest]);
          const end = head.indexOf(HEAD_END);
          if (end < 0) return;
          rest = head.subarray(end + 4);
          const text = head.subarray(0, end + 4);
          const lines = text.toString('latin1').split('\r\n');
          const line = lines[0];
          const cl = lines.find((l) => /^content-length:/i.test(l));
          bodyLeft = cl ? Number(cl.split(':')[1].trim()) : 0;
          stats.requests++;
          stats.lines.push(line);
          reqBytes = 0;
          upFault = pick('up', line);
          pendingDown = pick('down', line);
          if (upFault?.kind === 'slowdown') {
            stats.faults++;
            dead = true;
            upstream.destroy();
            client.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: ${SLOWDOWN_BODY.length}\r\nConnection: close\r\n\r\n${SLOWDOWN_BODY}`);
            return;
          }
          if (!forwardUp(Buffer.from(text))) return;
          inBody = true;
          if (bodyLeft === 0) requestDone();
          continue;
        }
        const n = Math.min(bodyLeft, rest.length);
        if (!forwardUp(rest.subarray(0, n))) return;
        bodyLeft -= n;
        rest = rest.subarray(n);
        if (bodyLeft === 0) requestDone();
      }
    });
    upstream.on('data', (d: Buffer) => {
      if (dead) return;
      if (downFault && downBytes + d.length > downFault.after) {
        const keep = Math.max(0, downFault.after - downBytes);
        if (keep) client.write(d.subarray(0, keep));
        const f = downFault;
        downFault = undefined;
        return act(f);
      }
      downBytes += d.length;
      if (!client.write(d)) {
        upstream.pause();
        client.once('drain', () => !dead && upstream.resume());
      }
    });
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      from.on('end', () => !dead && to.end());
      from.on('error', () => kill());
      from.on('close', () => {
        sockets.delete(from);
        // A stalled pair stays open until the client gives up; then both go.
        if (!dead || from === client) kill();
      });
    }
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`, port, stats,
    fault: (f) => faults.push({ direction: 'up', after: 0, times: 1, ...f }),
    clear: () => {
      faults = [];
      stats.faults = 0;
      stats.lines = [];
    },
    open: () => sockets.size,
    close: () => new Promise<void>((res) => {
      for (const s of sockets) s.destroy();
      server.close(() => res());
    }),
  };
}
