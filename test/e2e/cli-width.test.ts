import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort, type PgCluster } from '../harness/pg.js';
import { startArchivingCluster, stopDataDir, switchAndWaitArchived } from '../helpers/archiving.js';
import { allCommands, lifeboat, lifeboatAsServer, serverCanRunLifeboat, type CliResult, type Workspace } from '../helpers/cli.js';

// Text output fits 80 columns (issue 11 item 16): every command's --help, and
// the commands whose output ran wide (check 151, pitr plan/show 393, wal verify
// 120, show 106, expire 91, the restore plan header 89), on a cluster that
// archives through lifeboat, with long names where PostgreSQL allows them.
// Long details wrap with an indent; nothing is cut; plurals read right.

const canRun = serverCanRunLifeboat;
let pg: PgCluster;
let ws: Workspace;
let copyDir: string;
const LONG_SCHEMA = 's'.repeat(40) + '_reporting_schema';
const LONG_TABLE = 'monthly_revenue_by_region_and_product_line_' + 'x'.repeat(19); // 63 characters
const LABEL = 'before moving the orders table to the new partitioned layout, asked for by the on-call DBA';
const seen = new Map<string, string>();

const lb = (args: string[]) => lifeboatAsServer(ws.config, args);

/** The lines a user reads (stdout, and stderr but for the job log and error lines, one line by design) all fit 80 columns. */
function expectFits(what: string, r: CliResult, opts: { stderr?: boolean; cut?: boolean } = {}): void {
  const out = [r.stdout, ...(opts.stderr ? r.stderr.split('\n').filter((l) => !/^(info|warn |error|debug) |^lifeboat: /.test(l)) : [])].join('\n');
  seen.set(what, out);
  for (const line of out.split('\n')) expect(line.length, `${what}: ${line}`).toBeLessThanOrEqual(80);
  // wrapped, not cut; a sha256 shown by its first 16 digits (as git shows a commit) is not a cut
  if (!opts.cut) expect(out.replace(/\b[0-9a-f]{16}…/g, ''), what).not.toContain('…');
}

async function ok(args: string[], opts: { stderr?: boolean; cut?: boolean; code?: number } = {}): Promise<CliResult> {
  const r = await lb(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(opts.code ?? 0);
  expectFits(args.join(' '), r, opts);
  return r;
}

beforeAll(async () => {
  if (!canRun) return;
  ({ pg, ws } = await startArchivingCluster('width'));
  await pg.psql(`CREATE SCHEMA ${LONG_SCHEMA}; CREATE TABLE ${LONG_SCHEMA}.${LONG_TABLE} (id int); INSERT INTO ${LONG_SCHEMA}.${LONG_TABLE} SELECT generate_series(1, 5)`);
  copyDir = path.join(ws.dir, 'a-side-by-side-copy-in-a-directory-with-a-rather-long-name');
}, 180_000);

afterAll(async () => {
  if (copyDir) await stopDataDir(copyDir);
  await pg?.stop();
  await ws?.cleanup();
});

describe('every line fits 80 columns', () => {
  test("every command's --help", async () => {
    for (const c of await allCommands()) {
      const r = await lifeboat([...c, '--help']);
      expect(r.code).toBe(0);
      expectFits(`lifeboat ${c.join(' ')} --help`, r);
    }
  });

  describe.skipIf(!canRun)('on a cluster that archives through lifeboat', () => {
    let logical: string;
    let physical: string;
    let plan: string;

    test('check: details and fixes wrap; a wrapped SQL fix pastes into psql as the same statement', async () => {
      // archive_timeout is 0 here: check warns with a fix. For a while archiving also
      // fails (PostgreSQL keeps the segments and retries), so the fix is the long
      // archive_command line lifeboat expects
      const before = await pg.psql('SHOW archive_command');
      await pg.psql("ALTER SYSTEM SET archive_command = '/bin/false'");
      await pg.psql('SELECT pg_reload_conf()');
      let r: CliResult;
      let json: CliResult;
      try {
        r = await lb(['check', '-c', 'pg', '--probe-seconds', '1']);
        json = await lb(['--json', 'check', '-c', 'pg', '--probe-seconds', '1']);
      } finally {
        await pg.psql(`ALTER SYSTEM SET archive_command = '${before.replaceAll("'", "''")}'`);
        await pg.psql('SELECT pg_reload_conf()');
      }
      expect(r.code).toBe(1);
      expectFits('check', r);
      const fixes = (json.json.findings as { fix?: string }[]).map((f) => f.fix).filter((f): f is string => !!f);
      expect(fixes.length).toBeGreaterThan(0);
      const long = fixes.find((f) => f.startsWith('ALTER SYSTEM SET archive_command'));
      expect(long, JSON.stringify(fixes)).toBeDefined();
      {
        // the text lines of that fix, without the "fix: " lead and the "(then ...)" note
        const lines = r.stdout.split('\n');
        const start = lines.findIndex((l) => l.includes(`fix: ${long!.slice(0, 30)}`));
        expect(start, r.stdout).toBeGreaterThanOrEqual(0);
        let end = start;
        while (!lines[end]!.includes(';')) end++;
        const pasted = lines.slice(start, end + 1).join('\n').replace(/^.*?fix: /, '').replace(/;\s+\(then .*\)$/, ';');
        const asSelect = (sql: string) => sql.replace(/^ALTER SYSTEM SET \w+ =\s*/, 'SELECT ');
        expect(pasted.split('\n').length).toBeGreaterThan(1);
        expect(await pg.psql(asSelect(pasted))).toBe(await pg.psql(asSelect(long!)));
      }
      await ok(['setup-archiving', '-c', 'pg', '--dry-run'], { stderr: true });
    });

    test('backups, list, show, status, verify', async () => {
      const b1 = await ok(['backup', '-c', 'pg', '--label', LABEL]);
      logical = /^backup (\S+) /.exec(b1.stdout)![1]!;
      const b = await ok(['backup', '-c', 'pg', '--physical']);
      physical = /^backup (\S+) /.exec(b.stdout)![1]!;
      await ok(['list'], { cut: true }); // list alone shortens a long label (show has it whole)
      const show = await ok(['show', logical]);
      // the 63-character names are whole (wrapped in their column, not cut), and the label too
      expect(show.stdout.replace(/[\s5]/g, '')).toContain(`${LONG_SCHEMA}.${LONG_TABLE}`); // its row count (5) sits beside its first line
      expect(show.stdout.replace(/\s+/g, ' ')).toContain(LABEL);
      await ok(['show', physical]);
      for (const tag of ['daily', 'weekly', 'monthly', 'yearly', 'pre-migration']) await ok(['backup', '-c', 'pg', '--tag', tag]);
      const status = await ok(['status']);
      // BY TAG wraps in its column: every tag is there, whole
      for (const tag of ['manual:2', 'daily:1', 'weekly:1', 'monthly:1', 'yearly:1', 'pre-migration:1']) expect(status.stdout).toMatch(new RegExp(`(^|\\s)${tag}(\\s|$)`));
      const v = await ok(['verify', logical]);
      expect(v.stdout).toMatch(/\(\d+ checks passed\)/);
      await ok(['config', 'check']);
      await ok(['jobs', 'list']);
    });

    test('wal verify, pitr plan, pitr apply and pitr show', async () => {
      await pg.psql('SELECT pg_switch_wal()');
      expect(await switchAndWaitArchived(pg.psql)).toBe(true);
      const w = await ok(['wal', 'verify', '-c', 'pg']);
      expect(w.stdout).not.toMatch(/\b1 segments\b|\(s\)/);
      const port = await freePort();
      const p = await ok(['pitr', 'plan', '-c', 'pg', '--latest', '--to-datadir', copyDir, '--port', String(port), '--verify-query', "SELECT count(*) AS tables, current_setting('server_version') AS version, current_setting('data_directory') AS dir FROM pg_class"]);
      plan = /^Recovery plan (\S+) /.exec(p.stdout)![1]!;
      // the suggested command, folded with backslashes, is the whole command with --config
      expect(p.stdout.replace(/ \\\n +/g, ' ')).toContain(`Apply with:\n  lifeboat --config ${ws.config} pitr apply ${plan} --yes`);
      const apply = await ok(['pitr', 'apply', plan, '--yes'], { stderr: true });
      expect(apply.stdout).toMatch(/6\. \[done\] verify/);
      await ok(['pitr', 'show', plan]);
      await ok(['pitr', 'targets', '-c', 'pg']);
    }, 240_000);

    test('restore and retention plans', async () => {
      await ok(['restore', logical, '--to-database', 'a_restored_copy_of_the_database_with_a_long_name', '--dry-run']);
      await ok(['expire', '-c', 'pg', '--keep-logical', '1', '--keep-physical', '1', '--dry-run']);
      await ok(['delete', logical, '--dry-run']);
      await ok(['repo', 'gc', '--dry-run']);
    });

    test('plurals read right: no "(s)", no "1 checks" or "1 segments"', () => {
      for (const [what, out] of seen) {
        if (what.endsWith('--help')) continue; // option texts may say "file(s)
        expect(out, what).not.toMatch(/\b1 (checks|segments|objects|backups|files|tables|settings)\b/);
        expect(out, what).not.toMatch(/\w\(s\)/);
      }
    });
  });
});
