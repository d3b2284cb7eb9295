/**
 * The filters that undo a dump's backup filters, from what is known of it: the slice index's
 * filter steps, an Amanda header (as amrestore would run them), or the catalog's
 * compression/encryption columns; and the keys given to filter-decrypt.
 */
import { inflateRawSync } from 'node:zlib';
import type { Catalog, DumpRow } from '../catalog/db.js';
import { SLICE_INDEX_FORMAT } from '../catalog/recorder.js';
import type { AmandaHeader } from '../media/header.js';
import { element, type ElementSpec } from '../registry.js';
import { SliceIndex } from '../slice-index.js';
import { RestoreError, type RestoreKeys } from './types.js';

export function storedIndex(cat: Catalog, id: number): SliceIndex | undefined {
  const s = cat.sliceIndex(id);
  if (!s || s.format !== SLICE_INDEX_FORMAT) return undefined;
  return SliceIndex.fromJSON(JSON.parse(inflateRawSync(s.data).toString('utf8')));
}

/** Amanda writes commands as "/bin/gzip -dc |": the words before the pipe. */
export function commandWords(cmd: string | undefined): string[] {
  const words = (cmd ?? '').replace(/\|\s*$/, '').trim().split(/\s+/).filter(Boolean);
  return words;
}

/** Undo steps from an Amanda header (what amrestore/amfetchdump would run). */
export function fromHeader(h: AmandaHeader): ElementSpec[] | undefined {
  if (!h.compressed && !h.encrypted) return undefined;
  const steps: ElementSpec[] = [];
  if (h.encrypted) {
    const prog = h.srvEncrypt || h.clntEncrypt;
    const opt = h.srvEncrypt ? h.srvDecryptOpt : h.clntDecryptOpt;
    const argv = prog ? [prog, opt || '-d'] : commandWords(h.decryptCmd);
    if (!argv.length) throw new RestoreError('the dump is encrypted but its header names no decrypt program', 'filter');
    steps.push(element('filter-process', { argv }));
  }
  if (h.compressed) {
    const custom = h.srvcompprog || h.clntcompprog;
    if (!custom && (h.compSuffix ?? '.gz') === '.gz') steps.push(element('filter-gunzip', {}));
    else if (!custom && h.compSuffix === '.zst' && !h.uncompressCmd) steps.push(element('filter-unzstd', {}));
    else {
      const argv = custom ? [custom, '-d'] : commandWords(h.uncompressCmd);
      if (!argv.length) throw new RestoreError(`the dump is compressed (${h.compSuffix ?? '?'}) but its header names no uncompress program`, 'filter');
      steps.push(element('filter-process', { argv }));
    }
  }
  return steps;
}

/** Undo steps from the catalog's compression/encryption columns (xfa's own names). */
export function fromColumns(d: DumpRow): ElementSpec[] {
  const steps: ElementSpec[] = [];
  const enc = d.encryption?.toLowerCase();
  if (enc && enc !== 'none' && enc !== 'n') {
    if (/aes|gcm|xfa|filter-encrypt|yes/.test(enc)) steps.push(element('filter-decrypt', {}));
    else throw new RestoreError(`dump #${d.id} is encrypted with "${d.encryption}": xfa does not know how to decrypt that`, 'filter');
  }
  const comp = d.compression?.toLowerCase();
  if (comp && comp !== 'none' && comp !== 'n') {
    if (/zst/.test(comp)) steps.push(element('filter-unzstd', {}));
    else if (/gz|gzip|yes/.test(comp)) steps.push(element('filter-gunzip', {}));
    else throw new RestoreError(`dump #${d.id} is compressed with "${d.compression}": xfa does not know how to uncompress that`, 'filter');
  }
  return steps;
}

export function withKeys(steps: ElementSpec[], keys: RestoreKeys | undefined, key: string | undefined, slices?: string): ElementSpec[] {
  return steps.map((s) => {
    if (s.name !== 'filter-decrypt') return s;
    const props: Record<string, unknown> = { ...s.props };
    if (key) props.key = key;
    else if (keys?.keyFile) props['key-file'] = keys.keyFile;
    else if (keys?.passphraseFile) props['passphrase-file'] = keys.passphraseFile;
    else throw new RestoreError('the dump is encrypted (filter-encrypt): give its key with --key-file, --passphrase-file or --private-key', 'key');
    if (slices !== undefined) props.slices = slices;
    return element(s.name, props as never);
  });
}
