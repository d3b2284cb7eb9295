/**
 * xfa — transfer elements for backup software: the public TypeScript API.
 *
 *     import { Xfer, element, parse } from 'xfa';
 *     const xfer = parse('source-file path=/etc/hosts ! dest-file path=/tmp/hosts');
 *     await xfer.start().done;
 */
import '../elements/index.js';
import './devices/s3.js'; // registers s3: devices with the engine (device bridge)
import { linearChain, parsePipeline } from './dsl/index.js';
import { native, type NativeLinkPreview } from './native.js';
import { registry, type ElementSpec } from './registry.js';
import { Xfer, type XferOptions } from './xfer.js';
import { graphOf } from './dsl/graph.js';
import { XferGraph, type GraphOptions } from './graph.js';

export type * from './element-info.js';
export type * from './messages.js';
export { DslError } from './dsl/index.js';
export { PropError, formatSize, parseDuration, parseSize } from './props.js';
export { element, registry, type ElementSpec } from './registry.js';
export { defineElement, type ElementContext, type ElementDefinition, type ElementImpl } from './bridge.js';
export { Xfer, XferError, engineStats, type ElementStats, type XferOptions, type XferResult } from './xfer.js';
export { XferGraph, XferGraphError, graph, type ChainDoneMessage, type ChainMessage, type ChainOutcome, type GraphMessage, type GraphOptions, type GraphResult } from './graph.js';
export * from './media/header.js';
export * from './media/volume.js';
export { S3Device, S3DeviceError, registerS3Device, s3PropsWithEnv, type S3DeviceProperties } from './devices/s3.js';
export { registerDeviceType, unregisterDeviceType, type BridgeableDevice, type DeviceFactory } from './devices/bridge.js';

export interface ParseOptions extends XferOptions {
  /** Values for ${VAR}; the environment is NOT consulted unless you pass it. */
  vars?: Record<string, string>;
  /** File name for error messages. */
  file?: string;
}

/** The element specs of a pipeline text (one linear chain); throws DslError with file:line:col. */
export function parseSpecs(text: string, opts: { vars?: Record<string, string>; file?: string } = {}): ElementSpec[] {
  const compiled = parsePipeline(text, { file: opts.file, vars: opts.vars, lookup: registry });
  return linearChain(compiled).map((e) => ({ name: e.name, props: e.props }));
}

/** A ready (not yet started) transfer from pipeline-language text. */
export function parse(text: string, opts: ParseOptions = {}): Xfer {
  return new Xfer(parseSpecs(text, opts), opts);
}

/**
 * A ready (not yet started) graph from pipeline text: any pipeline, including several chains
 * joined by references through mux and demux (see src/graph.ts). Throws DslError.
 */
export function parseGraph(text: string, opts: ParseOptions & GraphOptions = {}): XferGraph {
  const compiled = parsePipeline(text, { file: opts.file, vars: opts.vars, lookup: registry });
  return new XferGraph(graphOf(compiled), opts);
}

/** How a chain would be linked (mechanisms, glue, cost) without running it. */
export function linkPreview(specs: readonly ElementSpec[]): NativeLinkPreview {
  return native.linkPreview(specs.map((s) => ({ name: s.name, props: { ...s.props } })));
}

export { SliceIndex, SliceIndexError, type ByteRange, type SliceEntry, type ObjectEntry } from './slice-index.js';
export { backupWithIndex, restoreAll, restorePath, type IndexedBackup, type RestoreOptions, type RestoreResult } from './restore/selective.js';
export { KeyError, decryptProps, encryptProps, generateKey, keyId, unwrapKey, wrapKey, type StreamHeader } from './keys.js';
export { Catalog, CatalogError, MIGRATIONS, SCHEMA_VERSION, openCatalog, type CopyInfo, type DumpInfo, type DumpRow, type DumpStatus, type PartRow, type VolumeRow } from './catalog/db.js';
export { Recorder, chgDiskDevice, readPartCrc, recordTransfer, type RecorderOptions } from './catalog/recorder.js';
export { verify as verifyCatalog, type Problem, type VerifyOptions, type VerifyReport } from './catalog/verify.js';
export { reindex, devicesOf, type ReindexReport } from './catalog/reindex.js';
export { crc32cCombine, crc32cOfParts } from './catalog/crc.js';
export { listDump, type DumpListing } from './restore/list.js';
export { RestoreError, restoreDump, selectDump, type DumpSelector, type RestoreDumpOptions, type RestoreDumpResult, type RestoreErrorKind, type RestoreKeys, type RestoreTarget, type Selection } from './restore/dump.js';
export { migrate, planMigration, scanHolding, storageOf, normalizeStorage, MigrateError, type MigrateOptions, type MigrateReport, type MigrateEvent, type PlanItem, type CopyResult } from './catalog/migrate.js';
export { importAmanda, type ImportReport } from './catalog/amanda-import.js';
export { AmandaImportError, parseTapelist, readAmandaConfig, type AmandaConfig, type TapelistEntry } from './catalog/amanda-conf.js';
export { parseAmandaLog, type AmandaLog } from './catalog/amanda-log.js';
