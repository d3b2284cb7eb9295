// dest-sftp: writes a remote file over SFTP — NAME.tmp, renamed to NAME when the transfer succeeds.
import { defineElement, type ElementContext } from '../src/bridge.js';
import { SftpSession, SshError, sshConnect, sshConnectionProps, sshOptions, where, type SshConnection } from '../src/ssh.js';

defineElement({
  name: 'dest-sftp',
  role: 'dest',
  description: 'Writes a file on a remote host over SFTP (NAME.tmp, renamed on success)',
  longHelp: 'Connects to HOST (host key checked against known-hosts) and writes PATH.tmp with several SFTP writes in ' +
    'flight; when the transfer succeeds it fsyncs it (fsync@openssh.com, when sync=true and the server has it), closes it ' +
    'and renames it to PATH (posix-rename@openssh.com replaces an existing PATH). A failed or cancelled transfer removes ' +
    'PATH.tmp and leaves PATH as it was.',
  props: [
    ...sshConnectionProps,
    { name: 'path', type: 'string', required: true, help: 'remote file to write' },
    { name: 'requests', type: 'int', default: '32', min: 1, max: 1024, required: false, help: 'SFTP write requests in flight' },
    { name: 'request-size', type: 'size', default: '64KiB', min: 1024, max: 16 * 1024 * 1024, required: false, help: 'bytes per SFTP write (capped at the server\'s limit)' },
    { name: 'sync', type: 'bool', default: 'true', required: false, help: 'fsync the remote file before renaming it' },
  ],
  example: 'source-file path=/tmp/etc.tar ! dest-sftp host=backup.example.org user=amanda path=/backup/etc.tar',
  create: (props) => {
    const opts = sshOptions(props);
    const path = String(props.path);
    const tmp = `${path}.tmp`;
    const maxRequests = props.requests === undefined ? 32 : Number(props.requests);
    const requestSize = props['request-size'] === undefined ? 65536 : Number(props['request-size']);
    const sync = props.sync !== false;
    let conn: SshConnection | undefined;
    let s: SftpSession | undefined;
    let handle: Buffer | undefined;
    let opening: Promise<void> | undefined;
    let position = 0;
    let inFlight = 0;
    let failure: Error | undefined;
    let created = false;
    let aborted = false;
    const waiters: Array<() => void> = [];

    const open = (ctx: ElementContext): Promise<void> => {
      opening ??= (async () => {
        conn = await sshConnect(opts, ctx);
        s = await SftpSession.open(conn);
        handle = await s.call<Buffer>('open', tmp, (cb) => s!.sftp.open(tmp, 'w', cb));
        created = true;
      })();
      return opening;
    };

    const waitSlot = async (limit: number): Promise<void> => {
      while (inFlight > limit && !failure) await new Promise<void>((r) => waiters.push(r));
      if (failure) throw failure;
      if (aborted) throw new SshError('write', 'transfer cancelled');
    };

    return {
      async write(chunk, ctx) {
        if (!handle) await open(ctx);
        // ssh2 copies a write's payload into its packet at once: pieces no larger than the
        // server accepts (a larger one would keep a reference to the chunk for later).
        const piece = Math.min(requestSize, s!.limits.write);
        for (let off = 0; off < chunk.length; off += piece) {
          await waitSlot(maxRequests - 1);
          const len = Math.min(piece, chunk.length - off);
          inFlight++;
          s!.call<void>('write', tmp, (cb) => s!.sftp.write(handle!, chunk, off, len, position, cb)).then(
            () => undefined,
            (e: Error) => void (failure ??= e),
          ).finally(() => {
            inFlight--;
            for (const w of waiters.splice(0)) w();
          });
          position += len;
        }
      },
      async end(ctx) {
        if (!handle) await open(ctx);
        await waitSlot(0);
        if (sync && s!.hasExtension('fsync@openssh.com')) await s!.call('fsync', tmp, (cb) => s!.sftp.ext_openssh_fsync(handle!, cb));
        await s!.call('close', tmp, (cb) => s!.sftp.close(handle!, cb));
        handle = undefined;
        if (s!.hasExtension('posix-rename@openssh.com')) {
          await s!.call('rename', tmp, (cb) => s!.sftp.ext_openssh_rename(tmp, path, cb));
        } else {
          await s!.call('remove', path, (cb) => s!.sftp.unlink(path, cb)).catch(() => undefined);
          await s!.call('rename', tmp, (cb) => s!.sftp.rename(tmp, path, cb));
        }
        ctx.info(`wrote ${position} bytes to ${where(opts)}:${path}`);
        await conn!.close();
      },
      async abort() {
        aborted = true;
        await opening?.catch(() => undefined);
        if (s && !s.closed) {
          while (inFlight > 0) await new Promise<void>((r) => waiters.push(r));
          if (handle) await s.call('close', tmp, (cb) => s!.sftp.close(handle!, cb)).catch(() => undefined);
          if (created) await s.call('remove', tmp, (cb) => s!.sftp.unlink(tmp, cb)).catch(() => undefined);
        }
        await conn?.close();
      },
    };
  },
});
