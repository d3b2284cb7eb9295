// source-ssh: runs a command on a remote host over SSH and streams its standard output.
import { defineElement, type ElementContext } from '../src/bridge.js';
import { commandProps, RemoteCommand, sshConnect, sshConnectionProps, sshOptions } from '../src/ssh.js';

defineElement({
  name: 'source-ssh',
  role: 'source',
  description: 'Streams the standard output of a command run on a remote host over SSH',
  longHelp: 'Connects to HOST (the host key must be in known-hosts, or accept-new-host-key=true records an unknown one; ' +
    'a changed key is always refused), runs COMMAND with stdin at EOF and streams its stdout. Each stderr line becomes an ' +
    'info message; a non-zero exit status or a signal fails the transfer, naming the command, the status and the last ' +
    'stderr lines. Cancel sends SIGTERM to the remote process group (see kill-group) and closes the channel.',
  props: [...sshConnectionProps, ...commandProps('tar -cf - /etc')],
  example: 'source-ssh host=backup.example.org user=amanda identity=~/.ssh/id_ed25519 command="tar -cf - /etc" ! dest-file path=/tmp/etc.tar',
  create: (props) => {
    const opts = sshOptions(props);
    const command = String(props.command);
    const group = props['kill-group'] !== false;
    let running: Promise<void> | undefined;
    const body = async (ctx: ElementContext): Promise<void> => {
        const conn = await sshConnect(opts, ctx);
        let cmd: RemoteCommand | undefined;
        const onAbort = (): void => void cmd?.kill();
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        try {
          cmd = await RemoteCommand.start(conn, command, ctx, group);
          if (ctx.signal.aborted) return await cmd.kill();
          cmd.stream.eof(); // no input: like ssh -n
          const stream = cmd.stream;
          // Paused while the engine's queue is full: the unread data stops SSH window adjusts,
          // so the remote command blocks instead of filling our memory.
          await new Promise<void>((resolve, reject) => {
            let current: Promise<void> = Promise.resolve();
            stream.on('data', (d: Buffer) => {
              stream.pause(); // at most one push outstanding
              current = ctx.push(d).then(() => {
                if (!ctx.signal.aborted) stream.resume();
              });
              current.catch(reject);
            });
            stream.once('end', () => void current.then(resolve, reject));
            ctx.signal.addEventListener('abort', () => resolve(), { once: true });
          });
          if (ctx.signal.aborted) return;
          await cmd.finished;
        } finally {
          ctx.signal.removeEventListener('abort', onAbort);
          if (ctx.signal.aborted) await cmd?.kill();
          await conn.close();
        }
    };
    return {
      run(ctx) {
        running = body(ctx);
        return running;
      },
      async abort() {
        // `done` waits for this: the remote command killed, the connection closed.
        await running?.catch(() => undefined);
      },
    };
  },
});
