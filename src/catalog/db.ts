/**
 * The catalog: an SQLite database (better-sqlite3) of volumes, dumps, their parts and slice
 * indexes. The schema is versioned (PRAGMA user_version) and upgraded by the migrations below, each
 * in its own transaction, when a catalog is opened.
 *
 *     const cat = openCatalog('/var/lib/xfa/catalog.db');
 *     cat.volumes(); cat.dumps(); cat.parts(dumpId);
 *
 * A dump is 'running' while its transfer runs, 'ok' once it is complete and its parts read back
 * with matching CRCs, 'failed' otherwise: only 'ok' dumps are restorable.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** The small part of better-sqlite3's API the catalog uses. */
export interface Statement {
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
export interface Database {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(sql: string, opts?: { simple?: boolean }): unknown;
  /** The function runs fn in a (deferred) transaction; `.immediate` takes the write lock first. */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): ((...args: A) => R) & { immediate: (...args: A) => R };
  close(): void;
}

const require = createRequire(import.meta.url);
const BetterSqlite3 = require('better-sqlite3') as new (file: string, opts?: Record<string, unknown>) => Database;

/** Schema migrations: MIGRATIONS[i] upgrades from version i to i+1. Append only. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE volumes (
     id INTEGER PRIMARY KEY,
     label TEXT NOT NULL UNIQUE,
     device TEXT,
     state TEXT NOT NULL DEFAULT 'labeled' CHECK (state IN ('labeled', 'written', 'missing')),
     datestamp TEXT,
     written INTEGER NOT NULL DEFAULT 0,
     reused INTEGER NOT NULL DEFAULT 0,
     bytes INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE dumps (
     id INTEGER PRIMARY KEY,
     host TEXT NOT NULL,
     disk TEXT NOT NULL,
     level INTEGER NOT NULL,
     datestamp TEXT NOT NULL,
     program TEXT,
     compression TEXT,
     encryption TEXT,
     size INTEGER,
     crc TEXT,
     status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
     error TEXT,
     started TEXT NOT NULL,
     finished TEXT
   );
   CREATE TABLE parts (
     id INTEGER PRIMARY KEY,
     dump_id INTEGER NOT NULL REFERENCES dumps(id) ON DELETE CASCADE,
     volume_id INTEGER NOT NULL REFERENCES volumes(id),
     fileno INTEGER NOT NULL,
     partnum INTEGER NOT NULL,
     size INTEGER NOT NULL,
     crc TEXT,
     UNIQUE (dump_id, partnum),
     UNIQUE (volume_id, fileno)
   );
   CREATE TABLE slice_indexes (
     dump_id INTEGER PRIMARY KEY REFERENCES dumps(id) ON DELETE CASCADE,
     format TEXT NOT NULL,
     data BLOB NOT NULL
   );
   CREATE INDEX dumps_by_host ON dumps(host, disk, datestamp);`,
  // 2: where a dump's row came from: 'transfer' (its messages) or 'reindex' (headers on media).
  `ALTER TABLE dumps ADD COLUMN origin TEXT NOT NULL DEFAULT 'transfer' CHECK (origin IN ('transfer', 'reindex'));`,
  // 3: copies (xfa migrate): copy_of names the dump a copy was made from, storage where a dump's
  // parts live (the changer, S3 bucket or holding directory it was written to), stream the mux
  // stream id when the dump is one stream of a multiplexed file, container that file's dump (whose
  // parts hold the stream; the stream's own row has none); origins 'amanda' (imported from
  // an Amanda configuration) and 'migrate'. SQLite cannot change a CHECK, so the table is rebuilt
  // (migrate() runs this with foreign keys off, then checks them).
  `CREATE TABLE dumps_v3 (
     id INTEGER PRIMARY KEY,
     host TEXT NOT NULL,
     disk TEXT NOT NULL,
     level INTEGER NOT NULL,
     datestamp TEXT NOT NULL,
     program TEXT,
     compression TEXT,
     encryption TEXT,
     size INTEGER,
     crc TEXT,
     status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
     error TEXT,
     started TEXT NOT NULL,
     finished TEXT,
     origin TEXT NOT NULL DEFAULT 'transfer' CHECK (origin IN ('transfer', 'reindex', 'amanda', 'migrate')),
     copy_of INTEGER REFERENCES dumps(id) ON DELETE SET NULL,
     storage TEXT,
     stream INTEGER,
     container INTEGER REFERENCES dumps(id) ON DELETE CASCADE
   );
   INSERT INTO dumps_v3 (id, host, disk, level, datestamp, program, compression, encryption, size, crc, status, error, started, finished, origin)
     SELECT id, host, disk, level, datestamp, program, compression, encryption, size, crc, status, error, started, finished, origin FROM dumps;
   DROP TABLE dumps;
   ALTER TABLE dumps_v3 RENAME TO dumps;
   CREATE INDEX dumps_by_host ON dumps(host, disk, datestamp);
   CREATE INDEX dumps_by_copy ON dumps(copy_of);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface VolumeRow {
  id: number;
  label: string;
  device: string | null;
  state: 'labeled' | 'written' | 'missing';
  datestamp: string | null;
  written: number;
  reused: number;
  bytes: number;
}

export type DumpStatus = 'running' | 'ok' | 'failed';

export interface DumpRow {
  id: number;
  host: string;
  disk: string;
  level: number;
  datestamp: string;
  program: string | null;
  compression: string | null;
  encryption: string | null;
  size: number | null;
  crc: string | null;
  status: DumpStatus;
  error: string | null;
  started: string;
  finished: string | null;
  origin: 'transfer' | 'reindex' | 'amanda' | 'migrate';
  /** The dump this one is a copy of (xfa migrate), else null. */
  copy_of: number | null;
  /** Where the parts were written: "chg-disk:DIR", "s3:BUCKET/PREFIX", "holding:DIR", ... */
  storage: string | null;
  /** The mux stream id when the dump is one stream of a multiplexed file... */
  stream: number | null;
  /** ...and the dump of that multiplexed file, whose parts hold it. */
  container: number | null;
}

export interface PartRow {
  id: number;
  dumpId: number;
  volumeId: number;
  label: string;
  device: string | null;
  fileno: number;
  partnum: number;
  size: number;
  crc: string | null;
}

export interface DumpInfo {
  host: string;
  disk: string;
  level: number;
  datestamp: string;
  program?: string;
  compression?: string;
  encryption?: string;
}

/** Where a dump row comes from and where it lives (schema 3). */
export interface CopyInfo {
  origin?: DumpRow['origin'];
  /** The dump this one is a copy of. */
  copyOf?: number;
  storage?: string;
  stream?: number;
  container?: number;
}

export class CatalogError extends Error {
  override name = 'CatalogError';
}

const now = (): string => new Date().toISOString();

/** How long a catalog write waits for another process's write to finish. */
export const BUSY_TIMEOUT_MS = 10_000;

export class Catalog {
  readonly db: Database;

  constructor(readonly file: string) {
    let db: Database | undefined;
    try {
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
      // Several xfa processes may write one catalog at once (two `xfa run --record`): a writer waits
      // for the lock up to BUSY_TIMEOUT_MS (write transactions take it first: tx() is BEGIN IMMEDIATE).
      db = new BetterSqlite3(file, { timeout: BUSY_TIMEOUT_MS });
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      this.db = db;
      this.migrate();
    } catch (e) {
      try {
        db?.close();
      } catch {
        /* already failing */
      }
      if (e instanceof CatalogError) throw e;
      throw new CatalogError(`cannot open catalog ${file}: ${(e as Error).message}`);
    }
  }

  /** The schema version of the open catalog. */
  version(): number {
    return Number(this.db.pragma('user_version', { simple: true }));
  }

  private migrate(): void {
    const newer = (v: number) => new CatalogError(`catalog ${this.file} has schema version ${v}, newer than this xfa (${SCHEMA_VERSION})`);
    const v = this.version();
    if (v > SCHEMA_VERSION) throw newer(v);
    if (v === SCHEMA_VERSION) return;
    // Table rebuilds (migration 3) must not cascade deletes: foreign keys are off while migrating,
    // and checked before each migration's transaction commits. Each migration runs in an
    // immediate transaction that reads the version again: another process opening the same
    // catalog at the same time may have migrated it meanwhile.
    this.db.pragma('foreign_keys = OFF');
    try {
      for (;;) {
        const done = this.db.transaction(() => {
          const i = this.version();
          if (i > SCHEMA_VERSION) throw newer(i);
          if (i === SCHEMA_VERSION) return true;
          this.db.exec(MIGRATIONS[i]);
          const broken = this.db.pragma('foreign_key_check') as unknown[];
          if (broken.length) throw new CatalogError(`catalog ${this.file}: migration to version ${i + 1} broke ${broken.length} references`);
          this.db.pragma(`user_version = ${i + 1}`);
          return false;
        }).immediate();
        if (done) break;
      }
    } finally {
      this.db.pragma('foreign_keys = ON');
    }
  }

  close(): void {
    this.db.close();
  }

  /** Runs fn in one transaction (all or nothing). The transaction is immediate (it takes the write
   * lock at BEGIN, waiting for other writers): a deferred one that reads then writes fails with
   * SQLITE_BUSY, without waiting, when another process wrote meanwhile. Nested: a savepoint. */
  tx<R>(fn: () => R): R {
    return this.db.transaction(fn).immediate();
  }

  // ----- volumes -----

  volume(label: string): VolumeRow | undefined {
    return this.db.prepare('SELECT * FROM volumes WHERE label = ?').get(label) as VolumeRow | undefined;
  }

  /** Inserts or updates a volume by label; returns its id. */
  upsertVolume(v: { label: string; device?: string; state?: VolumeRow['state']; datestamp?: string }): number {
    const old = this.volume(v.label);
    if (old) {
      this.db.prepare('UPDATE volumes SET device = COALESCE(?, device), state = COALESCE(?, state), datestamp = COALESCE(?, datestamp) WHERE id = ?')
        .run(v.device ?? null, v.state ?? null, v.datestamp ?? null, old.id);
      return old.id;
    }
    return Number(this.db.prepare('INSERT INTO volumes (label, device, state, datestamp) VALUES (?, ?, ?, ?)')
      .run(v.label, v.device ?? null, v.state ?? 'labeled', v.datestamp ?? null).lastInsertRowid);
  }

  /** A volume was labeled again (erased): its parts are gone, and so are the dumps that had one there. */
  relabeled(label: string, device?: string, datestamp?: string): void {
    this.tx(() => {
      const id = this.upsertVolume({ label, device, datestamp });
      this.db.prepare(`UPDATE dumps SET status = 'failed', error = 'volume ' || ? || ' was relabeled'
                       WHERE id IN (SELECT dump_id FROM parts WHERE volume_id = ?) AND status = 'ok'`).run(label, id);
      this.db.prepare('DELETE FROM parts WHERE volume_id = ?').run(id);
      this.db.prepare("UPDATE volumes SET reused = reused + 1, state = 'labeled', bytes = 0 WHERE id = ?").run(id);
    });
  }

  /** The volume was erased under another label: its dumps lose their good status and it leaves the catalog. */
  forgetVolume(label: string): void {
    this.tx(() => {
      if (!this.volume(label)) return;
      this.relabeled(label);
      this.db.prepare('DELETE FROM volumes WHERE label = ?').run(label);
    });
  }

  /** Why a volume labeled `label` at `device` is not the catalog's volume of that label: the
   * catalog has one at another device, with parts (two changers using the same label template).
   * Moving the label to `device` would lose the first volume's parts. Undefined when no clash. */
  labelClash(label: string, device: string | undefined): string | undefined {
    const old = this.volume(label);
    if (!old || device === undefined || !old.device || old.device === device) return undefined;
    if (this.db.prepare('SELECT 1 FROM parts WHERE volume_id = ? LIMIT 1').get(old.id) === undefined) return undefined;
    return `volume ${label} at ${device}: the catalog already has a volume ${label} at ${old.device} (labels must be unique; use another label template)`;
  }

  volumes(): VolumeRow[] {
    return this.db.prepare('SELECT * FROM volumes ORDER BY label').all() as VolumeRow[];
  }

  // ----- dumps -----

  /** A new 'running' dump; `origin`, `copyOf`, `storage`, `stream`, `container` as in DumpRow. */
  startDump(d: DumpInfo & CopyInfo): number {
    return Number(this.db.prepare(`INSERT INTO dumps (host, disk, level, datestamp, program, compression, encryption, status, started,
                                                      origin, copy_of, storage, stream, container)
                                   VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)`)
      .run(d.host, d.disk, d.level, d.datestamp, d.program ?? null, d.compression ?? null, d.encryption ?? null, now(),
        d.origin ?? 'transfer', d.copyOf ?? null, d.storage ?? null, d.stream ?? null, d.container ?? null).lastInsertRowid);
  }

  dump(id: number): DumpRow | undefined {
    return this.db.prepare('SELECT * FROM dumps WHERE id = ?').get(id) as DumpRow | undefined;
  }

  dumps(filter: { status?: DumpStatus } = {}): DumpRow[] {
    return (filter.status
      ? this.db.prepare('SELECT * FROM dumps WHERE status = ? ORDER BY datestamp, host, disk, level, id').all(filter.status)
      : this.db.prepare('SELECT * FROM dumps ORDER BY datestamp, host, disk, level, id').all()) as DumpRow[];
  }

  /** The parts of a dump (or of every dump), in part order, with their volume's label and device. */
  parts(dumpId?: number): PartRow[] {
    const sql = `SELECT p.id, p.dump_id AS dumpId, p.volume_id AS volumeId, v.label, v.device, p.fileno, p.partnum, p.size, p.crc
                 FROM parts p JOIN volumes v ON v.id = p.volume_id`;
    return (dumpId === undefined
      ? this.db.prepare(`${sql} ORDER BY p.dump_id, p.partnum`).all()
      : this.db.prepare(`${sql} WHERE p.dump_id = ? ORDER BY p.partnum`).all(dumpId)) as PartRow[];
  }

  /** Records one part written (in one transaction with its volume's counters); `newSession`:
   * the first part of this run on the volume (counts one more write of it). */
  addPart(dumpId: number, p: { label: string; device?: string; fileno: number; partnum: number; size: number; crc?: string; newSession?: boolean }): void {
    this.tx(() => {
      const clash = this.labelClash(p.label, p.device);
      if (clash) throw new CatalogError(clash);
      const vid = this.upsertVolume({ label: p.label, device: p.device, state: 'written' });
      this.db.prepare('INSERT INTO parts (dump_id, volume_id, fileno, partnum, size, crc) VALUES (?, ?, ?, ?, ?, ?)')
        .run(dumpId, vid, p.fileno, p.partnum, p.size, p.crc ?? null);
      this.db.prepare('UPDATE volumes SET bytes = bytes + ?, written = written + ? WHERE id = ?').run(p.size, p.newSession ? 1 : 0, vid);
    });
  }

  setPartCrc(partId: number, crc: string): void {
    this.db.prepare('UPDATE parts SET crc = ? WHERE id = ?').run(crc, partId);
  }

  /** The dump is complete and good: size and CRC recorded, status ok (a mux stream has no CRC of its own). */
  finishDump(id: number, size: number, crc: string | null): void {
    this.db.prepare("UPDATE dumps SET status = 'ok', size = ?, crc = ?, error = NULL, finished = ? WHERE id = ?").run(size, crc, now(), id);
  }

  failDump(id: number, error: string): void {
    this.db.prepare("UPDATE dumps SET status = 'failed', error = ?, finished = ? WHERE id = ?").run(error, now(), id);
  }

  // ----- slice indexes -----

  setSliceIndex(dumpId: number, format: string, data: Buffer): void {
    this.db.prepare('INSERT OR REPLACE INTO slice_indexes (dump_id, format, data) VALUES (?, ?, ?)').run(dumpId, format, data);
  }

  /** The stored slice index of a dump (Recorder's SLICE_INDEX_FORMAT: deflated SliceIndex JSON). */
  sliceIndex(dumpId: number): { format: string; data: Buffer } | undefined {
    return this.db.prepare('SELECT format, data FROM slice_indexes WHERE dump_id = ?').get(dumpId) as { format: string; data: Buffer } | undefined;
  }
}

export function openCatalog(file: string): Catalog {
  return new Catalog(file);
}
