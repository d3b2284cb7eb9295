// dest-ssh: streams the transfer into the standard input of a command run on a remote host.
import { defineElement, type ElementContext } from '../src/bridge.js';
import { commandProps, LineReporter, RemoteCommand, SshError, sshConnect, sshConnectionProps, sshOptions, type SshConnection } from '../src/ssh.js';

defineElement({
  name: 'dest-ssh',
  role: 'dest',
  description: 'Streams the data into the standard input of a command run on a remote host over SSH',
  longHelp: 'Connects to HOST (host key checked against known-hosts), runs COMMAND and writes the stream to its stdin; ' +
    'at the end it sends EOF and waits for the command to exit. Lines the command prints (stdout and stderr) become info ' +
    'messages; a non-zero exit status, a signal, or an exit before all the data was read fails the transfer. Cancel or ' +
    'failure sends SIGTERM to the remote process group before closing the channel, so the command never mistakes an ' +
    'aborted stream for a complete one.',
  props: [...sshConnectionProps, ...commandProps('cat > /backup/etc.tar')],
  example: 'source-file path=/tmp/etc.tar ! dest-ssh host=backup.example.org user=amanda command="cat > /backup/etc.tar"',
  create: (props) => {
    const opts = sshOptions(props);
    const command = String(props.command);
    const group = props['kill-group'] !== false;
    let conn: SshConnection | undefined;
    let cmd: RemoteCommand | undefined;
    let starting: Promise<RemoteCommand> | undefined;
    let written = 0;

    const start = (ctx: ElementContext): Promise<RemoteCommand> => {
      starting ??= (async () => {
        conn = await sshConnect(opts, ctx);
        cmd = await RemoteCommand.start(conn, command, ctx, group);
        const out = new LineReporter((l) => ctx.info(`stdout: ${l}`));
        cmd.stream.on('data', (d: Buffer) => out.add(d));
        cmd.stream.once('end', () => out.flush());
        return cmd;
      })();
      return starting;
    };

    /** The error to give when the command went away while we still had data for it. */
    const gone = async (c: RemoteCommand): Promise<never> => {
      await c.finished; // rejects with the exit status, signal or lost connection
      throw new SshError('write', `remote command "${command}" exited (status 0) before reading all its input (${written} bytes sent)`);
    };

    return {
      async write(chunk, ctx) {
        const c = cmd ?? (await start(ctx));
        if (c.closed) return gone(c);
        // The chunk is the engine's block: resolve only once ssh2 has encrypted it into packets
        // (the write callback), never while its Writable buffer still references it.
        let onClose!: () => void;
        const closed = new Promise<void>((res) => (onClose = res));
        c.stream.once('close', onClose);
        try {
          const ok = await Promise.race([
            new Promise<boolean>((res, rej) => c.stream.write(chunk, (err) => (err ? rej(err) : res(true)))),
            closed.then(() => false),
          ]);
          if (!ok) return gone(c);
        } finally {
          c.stream.removeListener('close', onClose);
        }
        written += chunk.length;
      },
      async end(ctx) {
        const c = cmd ?? (await start(ctx));
        c.stream.end(); // EOF on the remote stdin
        try {
          await c.finished;
        } finally {
          await conn?.close();
        }
      },
      async abort() {
        await starting?.catch(() => undefined);
        await cmd?.kill();
        await conn?.close();
      },
    };
  },
});
