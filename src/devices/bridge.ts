/**
 * The device bridge, TypeScript side: devices written in TypeScript (S3Device) driven by the C++
 * engine's media elements (dest-taper, dest-device, source-device, source-recovery) and changers
 * through csrc/devices/js_device.h.
 *
 *     registerDeviceType('s3', (spec, props) => S3Device.open(spec, props));   // done by s3.ts
 *     // now: dest-taper changer=chg-multi:s3:bucket/DailySet1/slot-{01..04}/ ...
 *
 * How a call runs: a C++ Device call on an engine worker is sent to the JavaScript thread (one
 * thread-safe function per type) and the worker blocks until the device's promise settles; the
 * answer carries the device's state, which the C++ side mirrors. Calls to one device run one after
 * another, in the order they were made (an adapter per device chains them), except `interrupt`
 * (a cancelled transfer: S3Device.interrupt() cuts requests in flight short), which runs at once.
 * `open` runs synchronously: an element's constructor opens its device on the JavaScript thread.
 *
 * The JavaScript thread itself must never wait for a bridged device: the C++ side refuses such
 * calls (EDEADLK), and the elements load bridged volumes on their worker threads. TypeScript code
 * uses the device's own async API (S3Device) — or volume.ts's async variants, which do so.
 *
 * Errors: a thrown error's message is the C++ error's detail; its `code` (ENOENT, ENOSPC, ...)
 * becomes the errno (EIO otherwise), `status` ('VOLUME_UNLABELED', ...) the Device status flags.
 */
import { native } from '../native.js';
import { headerText, parseHeader, type AmandaHeader } from '../media/header.js';

/** What a device must offer to be bridged: S3Device's shape. */
export interface BridgeableDevice {
  readonly spec: string;
  mode: string | null;
  file: number;
  block: number;
  inFile: boolean;
  isEom: boolean;
  isEof: boolean;
  bytesWritten: number;
  bytesRead: number;
  volumeBytes: number;
  volumeLabel: string;
  volumeTime: string;
  volumeHeader: AmandaHeader | null;
  deviceProperties(): Record<string, number | boolean>;
  readLabel(): Promise<unknown>;
  start(mode: 'read' | 'write' | 'append', label?: string, timestamp?: string): Promise<void>;
  finish(): Promise<void>;
  startFile(header: AmandaHeader): Promise<number>;
  writeBlock(data: Uint8Array): Promise<'ok' | 'full'>;
  finishFile(): Promise<void>;
  abortFile(): Promise<void>;
  seekFile(file: number): Promise<AmandaHeader>;
  seekBlock(block: number): Promise<void>;
  readBlock(): Promise<Buffer | null>;
  erase(): Promise<void>;
  interrupt?(): void;
}

/** Opens a device of the type (synchronously, touching nothing); throws for a bad spec or property. */
export type DeviceFactory = (spec: string, props: Record<string, string>) => BridgeableDevice;

interface Request {
  id: number;
  op: string;
  spec?: string;
  props?: [string, string][];
  mode?: 'read' | 'write' | 'append';
  label?: string;
  timestamp?: string;
  header?: string;
  n?: number;
  max?: number;
  data?: Buffer;
}
type Reply = (err: unknown, result?: unknown) => void;

interface BridgeNative {
  deviceBridgeRegister(type: string, dispatch: (req: Request, reply: Reply) => void): void;
  deviceBridgeUnregister(type: string): void;
}
const bnative = native as unknown as BridgeNative;

interface Adapter {
  dev: BridgeableDevice;
  tail: Promise<void>;
}

function stateOf(d: BridgeableDevice) {
  return {
    file: d.file, block: d.block, inFile: d.inFile, isEom: d.isEom, isEof: d.isEof, volumeBytes: d.volumeBytes,
    bytesWritten: d.bytesWritten, bytesRead: d.bytesRead,
  };
}

/** An errno-like code for a device error (EIO unless the message says better). */
function codeOf(e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  const name = (e as { name?: unknown })?.name;
  const msg = e instanceof Error ? e.message : String(e);
  if (name === 'AbortError' || /\bcancelled\b/.test(msg)) return 'ECANCELED';
  if (/no such file/.test(msg)) return 'ENOENT';
  if (/no space left|MAX_VOLUME_USAGE/.test(msg)) return 'ENOSPC';
  if (/not started|already started|no file started|no file positioned|is still open/.test(msg)) return 'EINVAL';
  return 'EIO';
}

function errorOf(e: unknown, dev?: BridgeableDevice): object {
  const status = (e as { status?: unknown })?.status;
  return {
    message: e instanceof Error ? e.message : String(e),
    code: codeOf(e),
    status: typeof status === 'string' ? [status] : undefined,
    state: dev ? stateOf(dev) : undefined,
  };
}

const labelText = (d: BridgeableDevice) => (d.volumeHeader ? headerText(d.volumeHeader) : '');

async function run(d: BridgeableDevice, req: Request): Promise<object> {
  switch (req.op) {
    case 'readLabel':
      await d.readLabel();
      return { text: labelText(d) };
    case 'start':
      await d.start(req.mode!, req.label, req.timestamp);
      return { text: labelText(d) };
    case 'finish':
      await d.finish();
      return {};
    case 'startFile':
      return { number: await d.startFile(parseHeader(req.header!)) };
    case 'writeBlock':
      return { text: await d.writeBlock(req.data!) };
    case 'finishFile':
      await d.finishFile();
      return {};
    case 'abortFile':
      await d.abortFile();
      return {};
    case 'seekFile': {
      const h = await d.seekFile(req.n!);
      return { text: headerText(h.type === 'TAPEEND' ? { type: 'TAPEEND', datestamp: h.datestamp || 'X', name: '' } : h) };
    }
    case 'seekBlock':
      await d.seekBlock(req.n!);
      return {};
    case 'readBlock': {
      const data = await d.readBlock();
      // Bigger than the reader's buffer: step back so the block can be read again (C++ says too small).
      if (data && data.length > req.max!) await d.seekBlock(d.block - 1);
      return { data: data ?? undefined };
    }
    case 'erase':
      await d.erase();
      return {};
    default:
      throw new Error(`device bridge: unknown operation "${req.op}"`);
  }
}

const types = new Map<string, Map<number, Adapter>>();

/**
 * Registers a TypeScript device type with the engine: from now on open_device("TYPE:...") in C++
 * (element properties, changers) opens `factory(spec, props)` here. Register a type once, before
 * transfers use it: registering it again replaces the factory and cuts off the devices of that
 * type already open — their next call fails with EIO ("the TYPE device type was unregistered"),
 * and their finish/abort never reach the old device object.
 */
export function registerDeviceType(type: string, factory: DeviceFactory): void {
  const adapters = new Map<number, Adapter>();
  types.set(type, adapters);
  const dispatch = (req: Request, reply: Reply): void => {
    if (req.op === 'open') {
      // Synchronous: the constructor of an element opens its device on this thread.
      try {
        const dev = factory(req.spec!, Object.fromEntries(req.props ?? []));
        const old = adapters.get(req.id);
        adapters.set(req.id, { dev, tail: old?.tail ?? Promise.resolve() });
        reply(null, { props: dev.deviceProperties(), state: stateOf(dev) });
      } catch (e) {
        reply(errorOf(e));
      }
      return;
    }
    const a = adapters.get(req.id);
    if (req.op === 'interrupt') {
      a?.dev.interrupt?.();
      reply(null, {});
      return;
    }
    if (req.op === 'close') {
      if (!a) return reply(null, {});
      a.tail = a.tail.then(async () => {
        await a.dev.finish().catch(() => undefined); // also when never started: the connection
        adapters.delete(req.id);
        reply(null, {});
      });
      return;
    }
    if (!a) {
      reply({ message: `device bridge: no ${type} device #${req.id} is open`, code: 'EINVAL' });
      return;
    }
    a.tail = a.tail.then(() => run(a.dev, req).then(
      (r) => reply(null, { ...r, state: stateOf(a.dev) }),
      (e) => reply(errorOf(e, a.dev)),
    ));
  };
  bnative.deviceBridgeRegister(type, dispatch);
}

/** Removes a type: C++ opens of it fail again ("not registered"); open devices fail their next call. */
export function unregisterDeviceType(type: string): void {
  types.delete(type);
  bnative.deviceBridgeUnregister(type);
}

/** Devices of the type currently open through the bridge (tests: nothing left after a transfer). */
export function bridgedDevices(type: string): number {
  return types.get(type)?.size ?? 0;
}
