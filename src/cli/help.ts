/** The help texts of `xfa` and its commands, and the version from package.json. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from './args.js';

const TRANSFER_OPTIONS = `Options:
  -s, --set NAME=VALUE  set the pipeline variable \${NAME} (repeatable); variables not
                        set this way come from the environment
  -v, --verbose         show the linkage, per-element progress and statistics, and the
                        summary even when stdout is not a terminal
  -q, --quiet           no progress and no summary, even on a terminal
      --progress        show progress even when stdout is not a terminal (one line per second)
      --json            print every transfer message as one JSON object per line on stdout
      --record          record the dump dest-taper writes in the catalog (host, disk, level and
                        date from its header; the slice index when the chain has
                        filter-tar-index); it is recorded ok only after its parts are read back
                        and their CRCs add up, else failed and xfa exits 1
  -c, --catalog FILE    the catalog for --record (default $XFA_CATALOG, else
                        ~/.local/share/xfa/catalog.db)
  -h, --help            show this help

Progress (bytes, rate, ETA when the source's size is known) and a one-line summary are shown
when stdout is a terminal. Errors always go to stderr. Ctrl-C or SIGTERM cancels the transfer
cleanly: temporary files are removed and xfa exits 130 (143 for SIGTERM).

Exit status: 0 ok, 1 the transfer failed, 2 usage or pipeline error.`;

const CATALOG_OPTIONS = `Options:
  -c, --catalog FILE  the catalog (SQLite); default $XFA_CATALOG, else ~/.local/share/xfa/catalog.db`;

const TEXTS: Record<Command | 'main', string> = {
  main: `xfa — move backup data through a chain of transfer elements

Usage:
  xfa run FILE [--set NAME=VALUE ...]       run a pipeline file (pipelines/*.xfa)
  xfa launch 'PIPELINE' [--set NAME=VALUE]  run a pipeline given on the command line
  xfa inspect [ELEMENT]                     list the elements, or describe one
  xfa help [COMMAND]                        help on a command
  xfa ls [--json]                           the catalog: volumes, dumps and their parts
  xfa label DEVICE LABEL [--force]          label a volume (file:/vtapes/slot1)
  xfa verify [LABEL...]                     check volumes and dumps against the catalog
  xfa reindex DEVICE|chg-disk:DIR ...       rebuild the catalog from the media
  xfa restore SELECTORS TARGET [PATH...]    restore a dump, or paths inside it (--list)
  xfa migrate --to STORAGE [FILTERS]        copy dumps to another storage (D2D2T)
  xfa catalog import-amanda CONFIGDIR       make an Amanda configuration's media restorable

Options:
  -h, --help      show help (also after any command: xfa run --help)
      --version   print the version

Pipeline:  source-random length=1GiB seed=7 ! filter-crc ! dest-null seed=7
Exit status: 0 ok, 1 the transfer failed, 2 usage or pipeline error, 130 interrupted.`,

  run: `Usage: xfa run FILE [options]

Runs the pipeline in FILE, e.g.
  xfa run pipelines/copy-file.xfa --set SRC=/etc/hosts --set DEST=/tmp/hosts.copy

${TRANSFER_OPTIONS}`,

  launch: `Usage: xfa launch 'PIPELINE' [options]

Runs a pipeline written on the command line, like gst-launch. Quote it as one argument (the
shell would otherwise take "!" and quotes itself); several arguments are joined with spaces.
  xfa launch 'source-random length=64MiB seed=7 ! filter-crc ! dest-null seed=7'

${TRANSFER_OPTIONS}`,

  inspect: `Usage: xfa inspect [ELEMENT] [--json]

Without ELEMENT, lists every element: name, role and description. With ELEMENT, describes it
like gst-inspect: what it does, its mechanism pairs with their costs, every property with type,
default, range and help, and an example.

Options:
      --json      print the element information as JSON instead
  -h, --help      show this help

Exit status: 0 ok, 2 unknown element or usage error.`,

  help: `Usage: xfa help [COMMAND]

Shows help on COMMAND (run, launch, inspect, ls, label, verify, reindex, restore, migrate, catalog),
or the overview without one.`,

  ls: `Usage: xfa ls [--host H] [--disk D] [--since YYYYMMDD] [--status S] [--catalog FILE] [--json]

Lists the catalog: every volume (label, device, state, bytes, times written and reused), every
dump (host, disk, level, datestamp, status, size, CRC32C; a copy says which dump it copies, a
stream of a multiplexed file which file holds it) and each dump's parts (LABEL:FILE, part number,
size, CRC32C). Only dumps with status ok are restorable; "failed" ones say why. With filters,
only the matching dumps and the volumes holding their parts are listed.

${CATALOG_OPTIONS}
      --host H    dumps of host H (* and ? match any characters / one character)
      --disk D    dumps of disk D (same globs)
      --since D   dumps with a datestamp from D on (YYYYMMDD or YYYYMMDDhhmmss)
      --status S  ok, failed or running
      --json      print {volumes, dumps: [{..., parts}]} as one JSON object
  -h, --help      show this help

Exit status: 0 ok, 1 the catalog could not be read, 2 usage error.`,

  label: `Usage: xfa label DEVICE LABEL [--force] [--catalog FILE]

Writes a volume label (Amanda's TAPESTART header) on DEVICE, e.g.
  xfa label file:/vtapes/slot1 DAILY01
A volume that already has a label is refused unless --force is given: labeling ERASES the volume,
and the catalog forgets the dumps that had parts on it. The catalog records the new volume.

${CATALOG_OPTIONS}
  -f, --force     relabel (erase) a volume that already has a label
      --json      print the result as JSON
  -h, --help      show this help

Exit status: 0 labeled, 1 refused or failed, 2 usage error.`,

  verify: `Usage: xfa verify [LABEL...] [--catalog FILE] [--headers-only] [--json]

Reads the volumes the catalog knows (or only those named): checks each label, each good dump's
part sequence (parts 1..N), each part's header (host, disk, level, datestamp, part number), and
reads every part back: sizes, part CRC32Cs and the dump's CRC32C. A dump's slice index is checked
against the dump (slices in order, without gaps, within its size) and the stored bytes at slice
starts are read back (a zstd frame, a gzip member or a catenize marker must begin there; at most
32 slices per dump, spread evenly). Every problem is reported with where it is (LABEL:FILE, the
volume and its device, or "dump N index").

${CATALOG_OPTIONS}
      --headers-only  check labels, headers and sequences without reading the data
      --json      print {volumes, dumps, parts, bytes, indexes, slicesProbed, problems: [{where, dump, message}]}
  -h, --help      show this help

Exit status: 0 no problem, 1 a problem was found, 2 usage error.`,

  reindex: `Usage: xfa reindex DEVICE|chg-disk:DIR ... [--catalog FILE] [--force] [--json]

Rebuilds the catalog from the media alone (after it was lost, or for media another catalog
wrote): every volume's label and file headers are scanned, parts are grouped into dumps (host,
disk, level, datestamp) and read back for their sizes and CRC32Cs. A dump whose parts 1..N are
all there and readable is recorded ok (origin "reindex"); one with a part missing or unreadable
is recorded failed, with why. Blank volumes are skipped. Split dumps' headers do not give their
number of parts (totalparts -1, as Amanda writes them), so a dump cut short after a complete part
cannot be told from a whole one: a warning says so.

Slice indexes, for selective restores, come back too: a dump whose stream ends with an index
trailer gets that index; a dump cut into independent slices (filter-zstd, filter-gzip, or
filter-catenize around gzip, zstd, xz, bzip2 or lz4) is read once more through the inverse filter
and a tar indexer, which gives the same slices and tar members as the backup recorded. Plain tar
streams need none; encrypted streams cannot be indexed without their key. What only the transfer
knew is not rebuilt: start and end times, volume write and reuse counts, the compression and
encryption of streams whose header does not name them.

${CATALOG_OPTIONS}
  -f, --force     replace a catalog that is not empty (its rows are dropped first)
      --no-indexes  do not rebuild slice indexes (saves reading sliceable dumps a second time;
                    selective restores of those dumps then read them whole)
      --json      print {volumes, dumps, parts, ok, failed, indexed, problems, warnings}
  -h, --help      show this help

Exit status: 0 ok, 1 a volume could not be read or a dump is incomplete, 2 usage error.`,

  restore: `Usage: xfa restore SELECTORS TARGET [PATH...] [options]

Restores a dump the catalog knows: all of it, or the PATHs inside it (as tar lists them, e.g.
tree/etc/hosts; a directory brings what is under it).
  xfa restore --host client --disk /data --to /tmp/r
  xfa restore --dump 12 --to /tmp/r etc/hosts home/ann
  xfa restore --host client --disk /data --date 20261122 --output /tmp/data.tar

Selectors (at least one):
  -d, --dump ID         the dump with this id (as xfa ls shows it), or one of its copies
  -H, --host HOST       -D, --disk DISK       -l, --level N
      --date YYYYMMDD[hhmmss]  datestamps that start with this
Only good (ok) dumps are restored. When several match, the newest is taken and stderr says which.
A dump copied by xfa migrate can be read from any good copy: the original first, a copy when a
volume of the original is missing or a part of it is unreadable.

Target (exactly one; nothing is extracted over the current directory by default):
  -t, --to DIR          extract with tar -x into DIR (created; checked writable before any
                        media is read). After a failure, files already extracted may remain.
  -o, --output FILE     the dump's native stream (decrypted, uncompressed: the tar) to FILE,
                        written as FILE.tmp and renamed only when everything checked out
      --stdout, -o -    the native stream to stdout
PATHs need --to.

Listing: --list [PATH] prints the dump's members (type, size, path) from its slice index in the
catalog, without reading any volume — under PATH when one is given; a dump without an index says
how to list it by reading it.

Reading: with a slice index in the catalog (the backup went through filter-tar-index), only the
stored bytes of the slices that hold the PATHs are read; without one the whole dump is read and
tar picks the PATHs. Decryption and decompression follow the index, else the Amanda header (gzip,
custom compress programs, Amanda's encrypt programs with their decrypt option), else the catalog,
else the stream's first bytes. A whole-dump read checks the CRC32C of what was read against the
catalog (each part, and the dump); a mismatch names the part as LABEL:FILE. A selective read
cannot check whole parts: the filters' own checks (GCM tags, zstd and gzip checksums) still apply.
The catalog is never changed by a restore.

Options:
${CATALOG_OPTIONS.split('\n').slice(1).join('\n')}
      --key-file FILE         filter-decrypt's key (32 raw bytes or 64 hex digits)
      --passphrase-file FILE  the passphrase the backup was encrypted with
      --private-key FILE      RSA private key (PEM) that unwraps the stream's data key
      --tmpdir DIR    where a selective restore stages the ranges it read (default $TMPDIR)
      --json          print a summary object (dump, bytes read, CRC, chain) on stdout (stderr with --stdout)
  -v, --verbose       say how the dump is read (index or not, the chain, bytes read)
  -q, --quiet         no summary line
  -h, --help          show this help

Exit status: 0 restored, 1 failed (no such dump, missing volume, corrupt part, wrong key,
unwritable target, disk full), 2 usage error, 130/143 after SIGINT/SIGTERM (the read is
cancelled; FILE.tmp is removed, files already extracted into DIR stay).`,

  migrate: `Usage: xfa migrate --to STORAGE [--from STORAGE] [FILTERS] [options]

Copies dumps from one storage to another (Amanda's amvault; disk to disk to tape): each dump is
read, written to STORAGE re-split into parts of --part-size, read back and checked by CRC32C
against the source dump's CRC, and recorded in the catalog as a copy (origin "migrate", copy_of
the dump it was read from). Only a verified copy is ok; a failed one is recorded failed, with why.
Bytes are copied as stored (still compressed or encrypted).

Storages:
  chg-disk:DIR          vtape slots (DIR/slotN); chg-multi:LIST and one device (file:DIR,
                        tape:/dev/nst0) too: written by dest-taper, appending to labeled volumes
  s3:BUCKET[/PREFIX]    s3 device volumes at s3:BUCKET/PREFIX/slot-NN/
  holding:DIR           (--from only) Amanda holding files found under DIR; one not in the
                        catalog is recorded there (storage holding:DIR) when it is copied
Without --from, every ok dump in the catalog is a source; a dump and its copies count as one
(the original is read if it is good, else its oldest good copy).

Resuming: a dump with a good copy on STORAGE is skipped ("already copied"); copies to STORAGE
left running by an interrupted migrate are marked failed, and copied again. Run one migrate per
destination at a time.

Filters:
      --host GLOB         hosts (exact or glob: * ? [...])
      --disk GLOB         disks
      --since DATE        datestamps from YYYYMMDD[hhmmss] on
      --fulls-only        level 0 dumps only
      --latest-fulls      the newest level 0 dump of each host and disk
Options:
  -t, --to STORAGE        where to copy (required)
  -f, --from STORAGE      read only dumps stored there
  -n, --dry-run           list what would be copied or skipped (id, dump, size, source, destination); change nothing
      --part-size SIZE    bytes per part on the destination (default 0: one part, split at the end of a volume)
      --label-template T  labels for blank volumes: %% (zero-padded) or $s = the slot number, e.g. VAULT-%%
      --labelstr RE       append only to volumes whose label matches (default any)
  -p, --device-property NAME=VALUE   destination device property, e.g. MAX_VOLUME_USAGE=100g, BLOCK_SIZE=1m
      --part-cache memory|disk       dest-taper's cache to retry a part at PEOM (devices without LEOM)
      --s3-endpoint URL   S3 server (default $S3_ENDPOINT, or $S3_HOST with $S3_SSL; else AWS)
      --s3-region R       region (default $S3_REGION, or the AWS environment)
      --s3-access-key ID  access key (default $S3_ACCESS_KEY, else the AWS environment or profile)
      --s3-secret-key K   secret key (prefer $S3_SECRET_KEY: options end up in shell history)
  -q, --quiet             print only failures and the summary
      --json              one JSON object per line: plan items (dry run) or results, then a summary
${CATALOG_OPTIONS.replace(/^Options:\n/, '')}
  -h, --help              show this help

Examples:
  xfa migrate --from holding:/holding --to chg-disk:/vtapes --part-size 1g --label-template DAILY-%%
  xfa migrate --to s3:vault/daily --latest-fulls --part-size 1g --label-template VAULT-%% -p BLOCK_SIZE=16m

Exit status: 0 every dump copied (or already there), 1 a copy failed (the others are still
copied and recorded), 2 usage error, 130/143 after SIGINT/SIGTERM (the copy under way is failed).`,

  catalog: `Usage: xfa catalog import-amanda CONFIGDIR [--changer CHANGER] [--catalog FILE] [--json]

import-amanda reads an Amanda configuration (CONFIGDIR/amanda.conf, its tapelist and the logs in
its logdir) so that the media Amanda wrote become restorable by xfa. Every volume of the tapelist
is looked for in the changer amanda.conf names (chg-disk:DIR, chg-multi:LIST, file:DIR); one not
found is recorded as missing. Every dump the taper logged is recorded (origin "amanda", storage
the changer) with its parts; it is ok only when the log says DONE, its parts 1..N are on volumes
found, their headers name the dump, they read back with the sizes logged, and their CRC32Cs
combine to the CRC Amanda logged for the stream it wrote (SERVER-CRC, else CLIENT-CRC). Otherwise
it is failed, with why. Importing again records the same dumps again (no duplicates); Amanda dumps
no longer in the logs are marked failed.

${CATALOG_OPTIONS}
      --changer CHANGER  where the volumes are now, instead of amanda.conf's changer
      --json      print {volumes, missing, dumps, ok, failed, parts, crcMatched, problems, warnings}
  -h, --help      show this help

Exit status: 0 ok, 1 a volume is missing or a dump is not restorable, 2 usage error (no
CONFIGDIR, no amanda.conf).`,
};

export function helpText(command: Command | 'main'): string {
  return `${TEXTS[command]}\n`;
}

/** The version in the package.json above this file (src/cli or dist/src/cli). */
export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (isNamed(pkg, 'xfa')) return pkg.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

function isNamed(pkg: unknown, name: string): pkg is { name: string; version: string } {
  if (typeof pkg !== 'object' || pkg === null) return false;
  const p = pkg as Record<string, unknown>;
  return p.name === name && typeof p.version === 'string';
}
