// source-sftp: reads a remote file over SFTP, several reads in flight, delivered in order.
import { defineElement, type ElementContext } from '../src/bridge.js';
import { SftpSession, sshConnect, sshConnectionProps, sshOptions, where } from '../src/ssh.js';

interface Read {
  pos: number;
  len: number;
  data: Promise<Buffer>;
  /** Past the size fstat gave: a full answer means the file grew. */
  probe: boolean;
}

defineElement({
  name: 'source-sftp',
  role: 'source',
  description: 'Reads a file on a remote host over SFTP',
  longHelp: 'Connects to HOST (host key checked against known-hosts), opens PATH and streams it to its end, keeping ' +
    'several SFTP reads in flight (requests × request-size bytes) and delivering them in order; short reads are ' +
    'completed, and a file that grows while it is read is read to its new end.',
  props: [
    ...sshConnectionProps,
    { name: 'path', type: 'string', required: true, help: 'remote file to read' },
    { name: 'requests', type: 'int', default: '16', min: 1, max: 1024, required: false, help: 'SFTP read requests in flight' },
    { name: 'request-size', type: 'size', default: '256KiB', min: 1024, max: 16 * 1024 * 1024, required: false, help: 'bytes per SFTP read (capped at the server\'s limit)' },
  ],
  example: 'source-sftp host=backup.example.org user=amanda path=/backup/etc.tar ! dest-file path=/tmp/etc.tar',
  create: (props) => {
    const opts = sshOptions(props);
    const path = String(props.path);
    const maxRequests = props.requests === undefined ? 16 : Number(props.requests);
    const requestSize = props['request-size'] === undefined ? 262144 : Number(props['request-size']);
    let running: Promise<void> | undefined;
    const body = async (ctx: ElementContext): Promise<void> => {
        const conn = await sshConnect(opts, ctx);
        const onAbort = (): void => void conn.close();
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        try {
          const s = await SftpSession.open(conn);
          const handle = await s.call<Buffer>('open', path, (cb) => s.sftp.open(path, 'r', cb));
          const st = await s.call<{ size: number }>('stat', path, (cb) => s.sftp.fstat(handle, cb));
          const piece = Math.min(requestSize, s.limits.read);
          const read = (pos: number, len: number, probe = false): Read => {
            const buf = Buffer.allocUnsafe(len);
            const data = s.call<Buffer>('read', path, (cb) =>
              s.sftp.read(handle, buf, 0, len, pos, (err, n) => cb(err, err ? undefined : buf.subarray(0, n))));
            data.catch(() => undefined); // awaited in order below
            return { pos, len, data, probe };
          };
          // Reads are issued up to the size fstat gave; past it, one probe at a time until EOF.
          let planned = st.size;
          let next = 0;
          let total = 0;
          const queue: Read[] = [];
          for (;;) {
            while (queue.length < maxRequests && next < planned) {
              const len = Math.min(piece, planned - next);
              queue.push(read(next, len));
              next += len;
            }
            if (queue.length === 0) {
              queue.push(read(next, piece, true)); // EOF probe
              next += piece;
            }
            const r = queue.shift()!;
            const data = await r.data;
            if (ctx.signal.aborted) return;
            if (data.length === 0) break; // EOF at r.pos: anything queued behind it is past the end
            if (data.length < r.len) queue.unshift(read(r.pos + data.length, r.len - data.length, r.probe)); // short read
            else if (r.probe) planned = Infinity; // the file grew: read on, pipelined, to the new EOF
            total += data.length;
            await ctx.push(data);
            if (ctx.signal.aborted) return;
          }
          await Promise.allSettled(queue.map((q) => q.data));
          await s.call('close', path, (cb) => s.sftp.close(handle, cb));
          ctx.info(`read ${total} bytes from ${where(opts)}:${path}`);
        } finally {
          ctx.signal.removeEventListener('abort', onAbort);
          await conn.close();
        }
    };
    return {
      run(ctx) {
        running = body(ctx);
        return running;
      },
      async abort() {
        await running?.catch(() => undefined);
      },
    };
  },
});
