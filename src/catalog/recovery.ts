/**
 * Reading a dump the catalog knows back from its volumes: the source-recovery element for its
 * parts (listed LABEL:FILE:SIZE in part order, volumes found by label among the parts' devices,
 * every part's header checked against the dump), whole or a byte range of the stored stream.
 */
import { headerText } from '../media/header.js';
import { element, type ElementSpec } from '../registry.js';
import type { ByteRange } from '../slice-index.js';
import type { DumpRow, PartRow } from './db.js';

/** chg-multi of the parts' distinct devices (one device alone as it is); an Error for device
 * names a changer list cannot carry. */
export function changerOfParts(parts: readonly PartRow[]): string {
  const devices = [...new Set(parts.map((p) => p.device).filter((d): d is string => !!d))];
  const bad = devices.find((x) => /[,{}]/.test(x));
  if (bad) throw new Error(`device ${bad}: names with ',' '{' or '}' cannot be listed in a changer`);
  return devices.length === 1 ? devices[0] : `chg-multi:${devices.join(',')}`;
}

/** The header source-recovery checks each part against (host, disk, level, datestamp). */
export function dumpHeader(d: Pick<DumpRow, 'host' | 'disk' | 'level' | 'datestamp' | 'program'>): string {
  return headerText({ type: 'SPLIT_FILE', datestamp: d.datestamp, name: d.host, disk: d.disk, dumplevel: d.level, partnum: 1, totalparts: -1,
    program: d.program || 'UNKNOWN' });
}

/** source-recovery reading dump `d` (its `parts`), or the stored bytes `range` of it; `deviceProperties`
 * ("NAME=VALUE") for its volumes' devices (an s3: volume's connection, when not from the environment). */
export function recoveryElement(d: DumpRow, parts: readonly PartRow[], range?: ByteRange, deviceProperties?: readonly string[]): ElementSpec {
  return element('source-recovery', {
    changer: changerOfParts(parts), header: dumpHeader(d), parts: parts.map((p) => `${p.label}:${p.fileno}:${p.size}`),
    ...(range ? { offset: range.offset, size: range.length } : {}),
    ...(deviceProperties?.length ? { 'device-properties': [...deviceProperties] } : {}),
  });
}
