/**
 * The target finder: read archived WAL with pg_waldump and list where a
 * point-in-time recovery could stop: restore points, and the transactions that
 * destroyed data (DROP, TRUNCATE, table rewrites, large DELETE/UPDATE bursts).
 *
 * pg_waldump's text is parsed line by line as it streams (WAL can be large;
 * nothing is buffered whole). Segments are fetched a few at a time into a
 * private directory and removed once read.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import {
  LifeboatError,
  plural,
  formatLsn,
  parseLsn,
  segmentNumber,
  spawnTool,
  toolError,
  type PitrCandidate,
  type PitrCandidateKind,
  type PitrCandidateRelation,
  type PitrTargetOptions,
  type PitrTargetScan,
  type RelationMap,
  type StepContext,
  type WalScanSource,
} from 'lifeboat/plugin';
import { serverBinDir } from './bindir.js';
import { toolOpts, type PostgresConfig } from './config.js';
import { captureRelations } from './relmap.js';

type Ctx = StepContext<PostgresConfig>;

// ---------------------------------------------------------------------------
// One line of pg_waldump output.

export interface WalRecord {
  rmgr: string;
  /** Transaction id in the record header; '0' for none. */
  xid: string;
  lsn: string;
  /** First word of the description: DELETE, COMMIT, RESTORE_POINT, ... */
  op: string;
  desc: string;
}

const LINE = /^rmgr: (\S+)\s+len \(rec\/tot\):\s*\d+\/\s*\d+, tx:\s*(\d+), lsn: ([0-9A-F]+\/[0-9A-F]+), prev [0-9A-F]+\/[0-9A-F]+, desc: (.*)$/;
const BLKREF0 = /blkref #0: rel (\d+)\/(\d+)\/(\d+)(?: fork (\w+))? blk (\d+)/;

export function parseWaldumpLine(line: string): WalRecord | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const desc = m[4]!;
  const sp = desc.indexOf(' ');
  return { rmgr: m[1]!, xid: m[2]!, lsn: m[3]!, op: sp < 0 ? desc : desc.slice(0, sp), desc };
}

/** The first block reference: `tablespace/database/relfilenode`, fork and block. */
function blockRef(desc: string): { id: string; fork: string; blk: number } | undefined {
  const m = BLKREF0.exec(desc);
  return m ? { id: `${m[1]}/${m[2]}/${m[3]}`, fork: m[4] ?? 'main', blk: Number(m[5]) } : undefined;
}

/** A file path from a commit or Storage record (`base/5/16384`, `pg_tblspc/S/PG_15_x/5/16384`, `global/1262`) as an id. */
export function fileId(p: string): string | undefined {
  let m = /^base\/(\d+)\/(\d+)$/.exec(p);
  if (m) return `1663/${m[1]}/${m[2]}`;
  m = /^pg_tblspc\/(\d+)\/[^/]+\/(\d+)\/(\d+)$/.exec(p);
  if (m) return `${m[1]}/${m[2]}/${m[3]}`;
  m = /^global\/(\d+)$/.exec(p);
  if (m) return `1664/0/${m[1]}`;
  return undefined;
}

/** `2026-11-21 10:03:44.284942 UTC` → `2026-11-21T10:03:44.284942Z` (pg_waldump runs with TZ=UTC). */
export function waldumpTime(date: string, zone: string): string | undefined {
  if (zone === 'UTC' || zone === 'GMT' || zone === '+00') return `${date.replace(' ', 'T')}Z`;
  const t = Date.parse(`${date} ${zone}`);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

// ---------------------------------------------------------------------------
// Transactions as the WAL shows them.

interface Created {
  writes: number;
  /** Rows or data pages went into the new file (a rewrite, not an emptied relation). */
  data: boolean;
}

interface OpenXact {
  deletes: Map<string, number>;
  updates: Map<string, number>;
  inserts: Map<string, number>;
  created: Map<string, Created>;
  /** Heap TRUNCATE records (wal_level=logical): relation oids. */
  truncated: string[];
  /** AccessExclusiveLocks the transaction logged: relation oid → database oid. */
  locks: Map<string, string>;
  droppedDbs: { tablespace: string; db: string }[];
}

/** A committed transaction with what it did. */
export interface FinishedXact extends OpenXact {
  xid: string;
  /** The commit record. */
  lsn: string;
  time?: string;
  timeline: number;
  /** Files the commit record deletes (`rels:`). */
  droppedFiles: string[];
  /** Relation statistics the commit drops (`dropped stats: 2/db/oid`): the relations that ceased to exist. */
  droppedRelations: { db: string; oid: string }[];
}

export type ScanEvent =
  | { type: 'restore-point'; lsn: string; timeline: number; name: string; time?: string }
  | { type: 'commit'; xact: FinishedXact };

const newXact = (): OpenXact => ({ deletes: new Map(), updates: new Map(), inserts: new Map(), created: new Map(), truncated: [], locks: new Map(), droppedDbs: [] });
const bump = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

/**
 * Follows transactions through pg_waldump records: per transaction (and its
 * subtransactions) the rows deleted/updated/inserted per relation, files
 * created, truncates, locks; at COMMIT it emits what the transaction did, at
 * ABORT it forgets it.
 */
export class WalScanner {
  records = 0;
  timeline = 1;
  private lastCommitTime: string | undefined;
  private readonly open = new Map<string, OpenXact>();

  constructor(private readonly emit: (e: ScanEvent) => void) {}

  private xact(xid: string): OpenXact {
    let x = this.open.get(xid);
    if (!x) this.open.set(xid, (x = newXact()));
    return x;
  }

  /** Transactions seen but not finished (still running at the end of the WAL read). */
  get unfinished(): number {
    return this.open.size;
  }

  feed(line: string): WalRecord | undefined {
    const r = parseWaldumpLine(line);
    if (r) this.handle(r);
    return r;
  }

  handle(r: WalRecord): void {
    this.records++;
    switch (r.rmgr) {
      case 'Transaction':
        return this.transaction(r);
      case 'XLOG':
        if (r.op === 'RESTORE_POINT') {
          this.emit({ type: 'restore-point', lsn: r.lsn, timeline: this.timeline, name: r.desc.slice('RESTORE_POINT '.length), ...(this.lastCommitTime ? { time: this.lastCommitTime } : {}) });
        } else if (r.xid !== '0' && (r.op === 'FPI' || r.op === 'FPI_FOR_HINT')) this.wrote(r, false);
        return;
      case 'Heap':
      case 'Heap2':
        return this.heap(r);
      case 'Storage':
        if (r.op === 'CREATE' && r.xid !== '0') {
          const id = fileId(r.desc.slice('CREATE '.length).trim()); // forks (_fsm, _vm, _init) do not match
          if (id) this.xact(r.xid).created.set(id, { writes: 0, data: false });
        }
        return;
      case 'Standby':
        if (r.op === 'LOCK') {
          for (const m of r.desc.matchAll(/xid (\d+) db (\d+) rel (\d+)/g)) if (m[1] !== '0') this.xact(m[1]!).locks.set(m[3]!, m[2]!);
        }
        return;
      case 'Database':
        if (r.op === 'DROP' && r.xid !== '0') {
          for (const m of r.desc.matchAll(/(\d+)\/(\d+)/g)) this.xact(r.xid).droppedDbs.push({ tablespace: m[1]!, db: m[2]! });
        }
        return;
      default:
        return;
    }
  }

  private heap(r: WalRecord): void {
    if (r.xid === '0') return;
    const op = r.op;
    if (r.rmgr === 'Heap' && op === 'TRUNCATE') {
      const m = /\brelids ((?:\d+ ?)+)/.exec(r.desc);
      if (m) this.xact(r.xid).truncated.push(...m[1]!.trim().split(/\s+/));
      return;
    }
    const ref = blockRef(r.desc);
    if (!ref || ref.fork !== 'main') return;
    const x = this.xact(r.xid);
    if (r.rmgr === 'Heap') {
      if (op === 'DELETE') bump(x.deletes, ref.id);
      else if (op === 'UPDATE' || op === 'HOT_UPDATE') bump(x.updates, ref.id);
      else if (op === 'INSERT' || op === 'INSERT+INIT') bump(x.inserts, ref.id);
    } else if (op === 'MULTI_INSERT' || op === 'MULTI_INSERT+INIT') {
      bump(x.inserts, ref.id, Number(/ (\d+) tuples/.exec(r.desc)?.[1] ?? 1));
    }
    if (op.includes('INSERT') || op.includes('UPDATE')) this.wrote(r, true);
  }

  /** A write into a file this transaction created: tells a rewrite from a TRUNCATE. */
  private wrote(r: WalRecord, heap: boolean): void {
    const x = this.open.get(r.xid);
    if (!x || x.created.size === 0) return;
    const ref = blockRef(r.desc);
    const c = ref && x.created.get(ref.id);
    if (!c) return;
    c.writes++;
    if (heap || ref.blk > 0) c.data = true;
  }

  private transaction(r: WalRecord): void {
    const m = /^(COMMIT|ABORT|COMMIT_PREPARED|ABORT_PREPARED) (?:(\d+): )?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (\S+?);?(?:$|; (.*)$)/.exec(r.desc);
    if (!m) return;
    const xid = m[2] ?? r.xid;
    const sections = new Map<string, string>();
    for (const part of (m[5] ?? '').split('; ')) {
      const i = part.indexOf(': ');
      if (i > 0) sections.set(part.slice(0, i), part.slice(i + 2));
    }
    const subxacts = (sections.get('subxacts') ?? '').split(/\s+/).filter(Boolean);
    const time = waldumpTime(m[3]!, m[4]!);
    if (m[1]!.startsWith('ABORT')) {
      for (const x of [xid, ...subxacts]) this.open.delete(x);
      return;
    }
    if (time) this.lastCommitTime = time;
    const merged = newXact();
    for (const id of [xid, ...subxacts]) {
      const x = this.open.get(id);
      if (!x) continue;
      this.open.delete(id);
      for (const k of ['deletes', 'updates', 'inserts'] as const) for (const [rel, n] of x[k]) bump(merged[k], rel, n);
      for (const [f, c] of x.created) merged.created.set(f, c);
      merged.truncated.push(...x.truncated);
      for (const [o, d] of x.locks) merged.locks.set(o, d);
      merged.droppedDbs.push(...x.droppedDbs);
    }
    const droppedFiles = (sections.get('rels') ?? '').split(/\s+/).map(fileId).filter((f): f is string => !!f);
    const droppedRelations = [...(sections.get('dropped stats') ?? '').matchAll(/(?:^|\s)2\/(\d+)\/(\d+)/g)].map((s) => ({ db: s[1]!, oid: s[2]! }));
    this.emit({ type: 'commit', xact: { ...merged, xid, lsn: r.lsn, ...(time ? { time } : {}), timeline: this.timeline, droppedFiles, droppedRelations } });
  }
}

// ---------------------------------------------------------------------------
// Relation names: the live catalog and the maps physical backups recorded.

interface Named {
  name: string;
  relkind: string;
  database: string;
  source: string;
  system: boolean;
}

const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema']);
/** Below this, relfilenodes belong to the initial catalog (FirstNormalObjectId). */
const FIRST_NORMAL_OID = 16384;

const RELKINDS: Record<string, NonNullable<PitrCandidateRelation['relkind']>> = { r: 'table', p: 'partitioned', m: 'matview', t: 'toast', i: 'index', S: 'sequence' };
const TABLE_LIKE = new Set(['r', 'p', 'm']);

export class RelationNames {
  private readonly byFile = new Map<string, Named>();
  private readonly byOid = new Map<string, Named>();
  private readonly live = new Set<string>();
  private readonly dbs = new Map<string, string>();
  liveLoaded = false;
  maps = 0;

  /** Add a map; later ones win (add backups oldest first, the live catalog last). */
  add(map: RelationMap, source: string, isLive: boolean): void {
    if (isLive) this.liveLoaded = true;
    else this.maps++;
    for (const db of map.databases) {
      this.dbs.set(db.oid, db.name);
      for (const [oid, filenode, spc, relkind, schema, name] of db.relations) {
        const n: Named = { name: `${schema}.${name}`, relkind, database: db.name, source, system: SYSTEM_SCHEMAS.has(schema) };
        if (filenode) this.byFile.set(`${spc || db.tablespace}/${db.oid}/${filenode}`, n);
        this.byOid.set(`${db.oid}/${oid}`, n);
        if (isLive) this.live.add(`${db.oid}/${oid}`);
      }
    }
  }

  file(id: string): Named | undefined {
    return this.byFile.get(id);
  }
  oid(db: string, oid: string): Named | undefined {
    return this.byOid.get(`${db}/${oid}`);
  }
  /** The relation exists now (only known when the live catalog was read). */
  isLive(db: string, oid: string): boolean {
    return this.live.has(`${db}/${oid}`);
  }
  database(oid: string): string | undefined {
    return this.dbs.get(oid);
  }
  /** Whether any map names a relation `want` would match (see touchesRelation). */
  knows(want: string): boolean {
    const probe = (n: Named): PitrCandidate => ({ kind: 'commit', lsn: '0/0', timeline: 1, relations: [{ id: '', name: n.name }], summary: '', destructive: false, suggested: { kind: 'lsn', value: '0/0', inclusive: true } });
    for (const n of this.byOid.values()) if (touchesRelation(probe(n), want)) return true;
    return /^\d+\/\d+\/\d+$/.test(want);
  }
}

/** Catalog files (shared, or below the first user oid and not named otherwise). */
function systemId(id: string, n: Named | undefined): boolean {
  if (n) return n.system;
  const [spc, , filenode] = id.split('/');
  return spc === '1664' || Number(filenode) < FIRST_NORMAL_OID;
}

function relation(id: string, n: Named | undefined, rows?: number): PitrCandidateRelation {
  const r: PitrCandidateRelation = { id };
  if (n) {
    r.name = n.name;
    r.database = n.database;
    r.relkind = RELKINDS[n.relkind] ?? 'other';
    r.nameFrom = n.source;
  }
  if (rows !== undefined) r.rows = rows;
  return r;
}

/** `app.a, app.b and 3 more` */
function nameList(rels: PitrCandidateRelation[], max = 3): string {
  const names = [...new Set(rels.map((r) => r.name ?? r.id))];
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

function dbPart(rels: PitrCandidateRelation[], defaultDb: string | undefined): string {
  const dbs = [...new Set(rels.map((r) => r.database).filter((d): d is string => !!d && d !== defaultDb))];
  return dbs.length ? ` in database ${dbs.join(', ')}` : '';
}

/** Group per-relation counts into the candidate relations of a burst (user relations, at least minRows each). */
function burst(counts: Map<string, number>, names: RelationNames, minRows: number): PitrCandidateRelation[] {
  const out: PitrCandidateRelation[] = [];
  for (const [id, rows] of counts) {
    if (rows < minRows) continue;
    const n = names.file(id);
    if (systemId(id, n) || n?.relkind === 't') continue; // catalog churn; TOAST chunks are not rows
    out.push(relation(id, n, rows));
  }
  return out.sort((a, b) => (b.rows ?? 0) - (a.rows ?? 0));
}

/** What candidatesOf is asked for besides the event. */
interface CandidateOptions {
  minRows: number;
  commits: boolean;
  defaultDb?: string;
}

/** A committed transaction as the candidate builders see it: the fields all its candidates share (`base`), and the target that stops just before it (`before`). */
interface XactView {
  x: FinishedXact;
  names: RelationNames;
  opts: CandidateOptions;
  base: Pick<PitrCandidate, 'lsn' | 'timeline' | 'xid' | 'time'>;
  before: PitrCandidate['suggested'];
}

/** The candidates one scan event gives: a restore point, or what a transaction did (in this order: DROP DATABASE, DROP, TRUNCATE or rewrite, bursts, the commit itself). */
export function candidatesOf(e: ScanEvent, names: RelationNames, opts: CandidateOptions): PitrCandidate[] {
  if (e.type === 'restore-point') return [restorePointCandidate(e)];
  const x = e.xact;
  const v: XactView = {
    x,
    names,
    opts,
    base: { lsn: x.lsn, timeline: x.timeline, xid: x.xid, ...(x.time ? { time: x.time } : {}) },
    before: { kind: 'xid' as const, value: x.xid, inclusive: false },
  };
  const out = databaseDrops(v);
  const dropped = droppedOf(v);
  const drop = dropCandidate(v, dropped);
  if (drop) out.push(drop);
  const replaced = replacementCandidate(v, dropped.explained);
  if (replaced) out.push(replaced);
  out.push(...burstCandidates(v));
  if (opts.commits) out.push(commitCandidate(v));
  return out;
}

/** A restore point: a target by name; its time is the last commit before it. */
function restorePointCandidate(e: Extract<ScanEvent, { type: 'restore-point' }>): PitrCandidate {
  return {
    kind: 'restore-point',
    lsn: e.lsn,
    timeline: e.timeline,
    name: e.name,
    ...(e.time ? { time: e.time, timeApprox: true } : {}),
    relations: [],
    summary: `restore point "${e.name}"`,
    destructive: false,
    suggested: { kind: 'name', value: e.name, inclusive: true },
  };
}

/** One DROP DATABASE candidate per database the transaction dropped. */
function databaseDrops(v: XactView): PitrCandidate[] {
  return v.x.droppedDbs.map((d) => {
    const name = v.names.database(d.db);
    return { ...v.base, kind: 'drop-database', ...(name ? { name } : {}), relations: [], summary: `DROP DATABASE ${name ?? `(oid ${d.db}, name unknown)`}`, destructive: true, suggested: v.before };
  });
}

/** What a transaction dropped: tables a map names, files none names, other relations (indexes, TOAST, ...) counted; `explained` holds the dropped files this accounts for. */
interface Dropped {
  named: PitrCandidateRelation[];
  unnamed: PitrCandidateRelation[];
  other: number;
  explained: Set<string>;
}

/** DROP: what the commit says ceased to exist, by whichever evidence its record gives. */
function droppedOf(v: XactView): Dropped {
  const d: Dropped = { named: [], unnamed: [], other: 0, explained: new Set() };
  const x = v.x;
  if (x.droppedRelations.length > 0) droppedByStats(v, d);
  else if (x.droppedFiles.length > 0 && x.created.size === 0 && x.truncated.length === 0) droppedByFiles(v, d);
  return d;
}

/** Relations whose statistics the commit drops and that no longer exist. */
function droppedByStats(v: XactView, d: Dropped): void {
  const { x, names } = v;
  const fileOfOid = (db: string, oid: string) => x.droppedFiles.find((f) => f.endsWith(`/${db}/${oid}`));
  for (const { db, oid } of x.droppedRelations) {
    if (names.isLive(db, oid)) continue; // still there: a rewrite's swapped relation
    const n = names.oid(db, oid);
    const file = fileOfOid(db, oid);
    if (n) {
      if (n.system) continue;
      if (file) d.explained.add(file);
      if (TABLE_LIKE.has(n.relkind)) d.named.push(relation(file ?? `?/${db}/?`, n));
      else d.other++;
    } else if (file && !systemId(file, undefined)) {
      // in no map: created after the newest one was taken (or an index: maps hold tables)
      d.explained.add(file);
      d.unnamed.push(relation(file, undefined));
    }
  }
}

/** Before PostgreSQL 15 commits name no dropped relations: files dropped, none created = DROP. */
function droppedByFiles(v: XactView, d: Dropped): void {
  for (const f of v.x.droppedFiles) {
    const n = v.names.file(f);
    if (systemId(f, n)) continue;
    d.explained.add(f);
    if (!n) d.unnamed.push(relation(f, undefined));
    else if (TABLE_LIKE.has(n.relkind)) d.named.push(relation(f, n));
    else d.other++;
  }
}

/** The DROP TABLE candidate, when the transaction dropped a table (sorts `d.unnamed` by file number). */
function dropCandidate(v: XactView, d: Dropped): PitrCandidate | undefined {
  const { named, unnamed } = d;
  if (named.length === 0 && unnamed.length === 0) return undefined;
  // unnamed ones beside named tables are most likely their indexes; alone, the lowest oid is the table
  unnamed.sort((a, b) => Number(a.id.split('/')[2]) - Number(b.id.split('/')[2]));
  const dropped = named.length > 0 ? named : unnamed.slice(0, 1);
  const other = d.other + (named.length > 0 ? unnamed.length : unnamed.length - 1);
  const extra = other > 0 ? ` (+${other} index/TOAST/other)` : '';
  const what = named.length > 0 ? `TABLE ${nameList(named)}` : `TABLE (name unknown, file ${dropped[0]!.id})`;
  return {
    ...v.base,
    kind: 'drop',
    relations: named.length > 0 ? named : unnamed,
    summary: `DROP ${what}${extra}${dbPart(named, v.opts.defaultDb)}`,
    ...(named.length === 0
      ? { note: 'the dropped relations are in neither the live catalog nor any backup\'s relation map (created after the newest backup): shown by storage id; the lowest is taken for the table' }
      : {}),
    destructive: true,
    suggested: v.before,
  };
}

/** TRUNCATE (certain with wal_level=logical) or a rewrite: old files dropped (those no DROP explains), new ones created. */
function replacementCandidate(v: XactView, explained: Set<string>): PitrCandidate | undefined {
  const x = v.x;
  if (x.truncated.length > 0) return loggedTruncate(v);
  const remaining = x.droppedFiles.filter((f) => !explained.has(f));
  if (remaining.length === 0 || x.created.size === 0) return undefined;
  const rels = replacedTables(v, remaining);
  return rels.length > 0 ? rewriteOrTruncate(v, rels) : undefined;
}

/** The heap TRUNCATE records name relation oids; their databases come from the transaction's locks. */
function loggedTruncate(v: XactView): PitrCandidate {
  const { x, names } = v;
  const soleDb = new Set(x.locks.values()).size === 1 ? [...x.locks.values()][0] : undefined;
  const rels = x.truncated.map((oid) => {
    const db = x.locks.get(oid) ?? soleDb;
    const n = db ? names.oid(db, oid) : undefined;
    return relation(`?/${db ?? '?'}/${oid}`, n);
  });
  return { ...v.base, kind: 'truncate', relations: rels, summary: `TRUNCATE ${nameList(rels)}${dbPart(rels, v.opts.defaultDb)}`, destructive: true, suggested: v.before };
}

/** The user tables whose files were replaced (a TOAST file counts for its table; indexes and sequences lose no data). */
function replacedTables(v: XactView, remaining: string[]): PitrCandidateRelation[] {
  const names = v.names;
  const byName = new Map<string, PitrCandidateRelation>();
  let unknown = 0;
  for (const f of remaining) {
    const n = names.file(f);
    if (systemId(f, n)) continue;
    if (!n) {
      unknown++;
      continue;
    }
    if (n.relkind === 'i' || n.relkind === 'S') continue; // REINDEX, sequence reset: no data lost
    if (!byName.has(n.name)) byName.set(n.name, relation(f, { ...n, relkind: n.relkind === 't' ? 'r' : n.relkind }));
  }
  // files renamed since any map was taken: the exclusive locks name the tables
  if (byName.size === 0 && unknown > 0) for (const r of lockedTables(v)) if (!byName.has(r.name!)) byName.set(r.name!, r);
  const rels = [...byName.values()];
  if (rels.length === 0 && unknown > 0) rels.push(...remaining.filter((f) => !systemId(f, names.file(f))).map((f) => relation(f, undefined)));
  return rels;
}

/** The user tables the transaction took an AccessExclusiveLock on. */
function lockedTables(v: XactView): PitrCandidateRelation[] {
  const rels: PitrCandidateRelation[] = [];
  for (const [oid, db] of v.x.locks) {
    const n = v.names.oid(db, oid);
    if (n && !n.system && TABLE_LIKE.has(n.relkind)) rels.push(relation(`?/${db}/${oid}`, n));
  }
  return rels;
}

/** Data went into the new files: a rewrite; otherwise they were left empty: a TRUNCATE. */
function rewriteOrTruncate(v: XactView, rels: PitrCandidateRelation[]): PitrCandidate {
  const data = [...v.x.created.values()].some((c) => c.data || c.writes >= 2);
  return data
    ? {
        ...v.base,
        kind: 'rewrite',
        relations: rels,
        summary: `rewrite of ${nameList(rels)}${dbPart(rels, v.opts.defaultDb)} (ALTER TABLE, VACUUM FULL or CLUSTER)`,
        note: 'the old files were replaced by rewritten ones: a schema change, or maintenance that lost no rows',
        destructive: true,
        suggested: v.before,
      }
    : {
        ...v.base,
        kind: 'truncate',
        relations: rels,
        summary: `TRUNCATE ${nameList(rels)}${dbPart(rels, v.opts.defaultDb)}`,
        note: 'the files were replaced by empty ones: TRUNCATE (or a rewrite of an empty or one-page table); wal_level=logical records TRUNCATE for certain',
        destructive: true,
        suggested: v.before,
      };
}

/** A delete burst and an update burst: at least minRows rows of a user relation in the one transaction. */
function burstCandidates(v: XactView): PitrCandidate[] {
  const out: PitrCandidate[] = [];
  for (const [kind, counts, verb] of [
    ['delete-burst', v.x.deletes, 'deleted'],
    ['update-burst', v.x.updates, 'updated'],
  ] as const) {
    const rels = burst(counts, v.names, v.opts.minRows);
    if (rels.length === 0) continue;
    const rows = rels.reduce((n, r) => n + (r.rows ?? 0), 0);
    const each = rels.length === 1 ? ` from ${rels[0]!.name ?? rels[0]!.id}` : ` from ${rels.map((r) => `${r.name ?? r.id} (${r.rows})`).join(', ')}`;
    out.push({
      ...v.base,
      kind,
      relations: rels,
      rows,
      summary: `${verb} ${rows} rows${verb === 'updated' ? each.replace(' from ', ' in ') : each}${dbPart(rels, v.opts.defaultDb)}`,
      note: 'stopping before this transaction also leaves out everything else it did',
      destructive: true,
      suggested: v.before,
    });
  }
  return out;
}

/** The commit itself (asked for with the `commit` kind): the rows it changed per user relation, most first; a target that includes it. */
function commitCandidate(v: XactView): PitrCandidate {
  const x = v.x;
  const touched = new Map<string, number>();
  for (const k of ['deletes', 'updates', 'inserts'] as const) for (const [rel, n] of x[k]) bump(touched, rel, n);
  const rels: PitrCandidateRelation[] = [];
  for (const [id, n] of touched) {
    const named = v.names.file(id);
    if (systemId(id, named) || named?.relkind === 't') continue;
    rels.push(relation(id, named, n));
  }
  rels.sort((a, b) => (b.rows ?? 0) - (a.rows ?? 0));
  const rows = rels.reduce((n, r) => n + (r.rows ?? 0), 0);
  return {
    ...v.base,
    kind: 'commit',
    relations: rels,
    rows,
    summary: rels.length ? `commit: ${plural(rows, 'row change')} in ${nameList(rels)}${dbPart(rels, v.opts.defaultDb)}` : 'commit (no user table rows)',
    destructive: false,
    suggested: { kind: 'xid', value: x.xid, inclusive: true },
  };
}

/** Does a candidate touch `want` (`schema.table`, `table`, or a storage id)? Quotes are ignored; unquoted names also match case-insensitively. */
export function touchesRelation(c: PitrCandidate, want: string): boolean {
  const w = want.replaceAll('"', '');
  const qualified = w.includes('.');
  return c.relations.some((r) => {
    if (r.id === w) return true;
    if (!r.name) return false;
    const have = qualified ? r.name : r.name.slice(r.name.indexOf('.') + 1);
    return have === w || have.toLowerCase() === w.toLowerCase();
  });
}

/** A time as microseconds since the epoch (commit times have microseconds; Date has milliseconds). */
export function micros(time: string): bigint {
  const ms = Date.parse(time);
  const frac = /:\d\d\.(\d+)/.exec(time)?.[1] ?? '';
  return BigInt(Math.floor(ms / 1000)) * 1_000_000n + BigInt((frac + '000000').slice(0, 6));
}

/** Keeps the newest `limit` candidates that pass the filters. */
export class CandidateCollector {
  private list: PitrCandidate[] = [];
  private dropped = 0;
  private readonly kinds: Set<PitrCandidateKind>;
  private readonly from: bigint | undefined;
  private readonly to: bigint | undefined;

  constructor(private readonly opts: PitrTargetOptions) {
    this.kinds = new Set(opts.kinds);
    this.from = opts.from ? micros(opts.from) : undefined;
    this.to = opts.to ? micros(opts.to) : undefined;
  }

  add(c: PitrCandidate): void {
    if (!this.kinds.has(c.kind)) return;
    if (c.time && (this.from !== undefined || this.to !== undefined)) {
      const t = micros(c.time);
      if ((this.from !== undefined && t < this.from) || (this.to !== undefined && t > this.to)) return;
    }
    if (this.opts.relation && !touchesRelation(c, this.opts.relation)) return;
    this.list.push(c);
    if (this.list.length >= 2 * this.opts.limit) this.trim();
  }

  private trim(): void {
    const over = this.list.length - this.opts.limit;
    if (over > 0) {
      this.list.splice(0, over);
      this.dropped += over;
    }
  }

  result(): { candidates: PitrCandidate[]; omitted: number } {
    this.trim();
    return { candidates: this.list, omitted: this.dropped };
  }
}

// ---------------------------------------------------------------------------
// The step.

const RMGRS = ['Heap', 'Heap2', 'Transaction', 'XLOG', 'Storage', 'Standby', 'Database'];
/** Segments fetched per pg_waldump run (plus the one carried over): bounds the temp space. */
const BATCH = 8;

function segmentStart(name: string, segSize: number): bigint {
  return segmentNumber(name, segSize) * BigInt(segSize);
}

/** The `findTargets` step. */
export async function findTargets(ctx: Ctx, wal: WalScanSource, opts: PitrTargetOptions): Promise<PitrTargetScan> {
  const c = ctx.cluster.config;
  const warnings: string[] = [];
  const names = new RelationNames();
  for (const b of wal.backups) if (b.relationMap) names.add(b.relationMap, `backup ${b.id}`, false);
  try {
    names.add(await captureRelations(c, 'live', ctx.signal, (db, why) => warnings.push(`relation names of database ${db} not read: ${why}`)), 'live catalog', true);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    warnings.push(`live catalog not readable (${(err as Error).message.split('\n')[0]}); names come from backups' relation maps only`);
  }
  if (opts.relation && !names.knows(opts.relation)) warnings.push(`relation ${opts.relation} is in neither the live catalog nor any backup's relation map: check the name (schema.table)`);
  if (names.maps === 0) warnings.push('no physical backup in range recorded relation names: tables dropped since are shown by storage id (tablespace/database/file)');

  const bindir = await serverBinDir(ctx);
  const tool = { ...toolOpts(c, ctx.signal), ...(bindir ? { bindir } : {}) };
  tool.env = { ...tool.env, TZ: 'UTC', LC_ALL: 'C' };
  const collector = new CandidateCollector(opts);
  const candOpts = { minRows: opts.minRows, commits: opts.kinds.includes('commit'), ...(c.database ? { defaultDb: c.database } : { defaultDb: 'postgres' }) };
  const scanner = new WalScanner((e) => {
    for (const cand of candidatesOf(e, names, candOpts)) collector.add(cand);
  });
  let last = -1n;
  let lastLsn: string | undefined;
  const total = wal.pieces.reduce((n, p) => n + p.segments.length, 0);
  let done = 0;
  const dir = await ctx.tmpDir();
  const present = new Set<string>();
  const segSize = BigInt(wal.segSize);

  for (const piece of wal.pieces) {
    const segs = piece.segments;
    if (segs.length === 0) continue;
    scanner.timeline = piece.timeline;
    const pieceEnd = piece.endLsn ? parseLsn(piece.endLsn) : segmentStart(segs.at(-1)!, wal.segSize) + segSize;
    let resume = piece.startLsn ? parseLsn(piece.startLsn) : segmentStart(segs[0]!, wal.segSize);
    let ended = false;
    for (let i = 0; i < segs.length && !ended; i += BATCH) {
      ctx.signal.throwIfAborted();
      const lastIdx = Math.min(segs.length - 1, i + BATCH - 1);
      let end = segmentStart(segs[lastIdx]!, wal.segSize) + segSize;
      if (end > pieceEnd) end = pieceEnd;
      if (resume >= end) {
        done += lastIdx - i + 1;
        continue;
      }
      const firstIdx = Math.max(0, segs.findIndex((s) => segmentStart(s, wal.segSize) + segSize > resume));
      const needed = segs.slice(firstIdx, lastIdx + 1);
      for (const f of [...present]) {
        if (!needed.includes(f)) {
          await rm(path.join(dir, f), { force: true });
          present.delete(f);
        }
      }
      const missing = needed.filter((s) => !present.has(s));
      await wal.fetch(missing, dir);
      for (const s of missing) present.add(s);
      ctx.progress({ phase: `read WAL ${needed[0]}..${needed.at(-1)}`, bytes: done * wal.segSize, totalBytes: total * wal.segSize });

      const args = ['--path', dir, '--timeline', String(piece.timeline), '--start', formatLsn(resume), '--end', formatLsn(end), ...RMGRS.flatMap((r) => ['--rmgr', r])];
      const child = spawnTool('pg_waldump', args, tool);
      let printed = -1n;
      try {
        const lines = createInterface({ input: child.stdout!, crlfDelay: Infinity });
        for await (const line of lines) {
          const r = parseWaldumpLine(line);
          if (!r) continue;
          const at = parseLsn(r.lsn);
          if (at <= last) continue; // read again after a batch boundary
          last = at;
          printed = at;
          lastLsn = r.lsn;
          scanner.handle(r);
        }
        await child;
      } catch (err) {
        const e = toolError('pg_waldump', err, tool);
        if (e.code === 'BINARY_MISSING') {
          throw new LifeboatError('BINARY_MISSING', `pg_waldump not found${bindir ? ` in ${bindir}` : ''}`, {
            hint: 'pg_waldump comes with the PostgreSQL server binaries (Debian: postgresql-NN); set "bindir" in the cluster connection config',
          });
        }
        const stderr = String(e.details?.stderr ?? e.message);
        if (e.code === 'COMMAND_FAILED' && /error in WAL record at/.test(stderr)) {
          // the end of valid WAL inside the range (e.g. a segment zero-filled after a crash)
          warnings.push(`WAL ends early on timeline ${piece.timeline}: ${stderr.split('\n').find((l) => l.includes('error in WAL record'))?.replace(/^pg_waldump: (error: )?/, '')}`);
          ended = true;
        } else throw e;
      }
      done += lastIdx - i + 1;
      const lastStart = segmentStart(segs[lastIdx]!, wal.segSize);
      resume = printed > lastStart ? printed : lastStart;
    }
  }
  for (const f of present) await rm(path.join(dir, f), { force: true });
  ctx.progress({ phase: 'read WAL', bytes: total * wal.segSize, totalBytes: total * wal.segSize });
  const { candidates, omitted } = collector.result();
  return { candidates, omitted, records: scanner.records, segments: total, ...(lastLsn ? { endLsn: lastLsn } : {}), warnings };
}
