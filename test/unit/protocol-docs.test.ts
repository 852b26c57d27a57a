/**
 * docs/protocol.md against the protocol module (src/protocol/methods.ts), so the
 * two cannot drift: every method and job type of the module has its row in the
 * docs' tables, the docs name no method the agent lacks, every param of every
 * method and job is named in its row, and the hello result and the
 * notifications list every field the schemas have.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { Jobs, JobTypes, Methods, Notifications, type MethodName } from '../../src/protocol/index.js';
import { HelloResultSchema } from '../../src/protocol/schemas/jobs.js';
import { ROOT } from '../helpers/cli.js';

const doc = readFileSync(path.join(ROOT, 'docs', 'protocol.md'), 'utf8');

/** The markdown section under a `## ` or `### ` heading (to the next heading of that level or above). */
function section(heading: string): string {
  const start = doc.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/protocol.md has no "${heading}"`);
  const level = heading.split(' ')[0]!.length;
  const rest = doc.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`\\n#{2,${level}} `));
  return next < 0 ? rest : rest.slice(0, next);
}

/** Rows of the tables in a section whose first cell is a code span: name -> the other cells. */
function rows(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^\|\s*`([^`]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (m) out.set(m[1]!, m[2]!.split(/(?<!\\)\|/).map((c) => c.trim()));
  }
  return out;
}

/** The field names of an object schema (after its defaults and refinements). */
function fields(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

const named = (cell: string, field: string) => new RegExp(`(^|[^\\w])${field}([^\\w]|$)`).test(cell);

const methodRows = rows(section('## Methods'));
const jobRows = rows(section('### Attach'));

describe('methods', () => {
  const documented = (m: MethodName) => m === 'agent.hello' || methodRows.has(m);
  test('every method of the protocol has its row (agent.hello its own section)', () => {
    expect((Object.keys(Methods) as MethodName[]).filter((m) => !documented(m))).toEqual([]);
    expect(doc).toContain('## Handshake: `agent.hello`');
  });

  test('the docs name no method the agent lacks', () => {
    expect([...methodRows.keys()].filter((m) => !Object.hasOwn(Methods, m))).toEqual([]);
  });

  test("every param of every method is named in its row", () => {
    const missing: string[] = [];
    for (const [m, cells] of methodRows) {
      if (!Object.hasOwn(Methods, m)) continue;
      // "restore params (below)": the restore job's row lists them
      const cell = /restore params/.test(cells[0]!) ? jobRows.get('restore')![0]! : cells[0]!;
      for (const f of fields(Methods[m as MethodName].params)) if (!named(cell, f)) missing.push(`${m}: ${f}`);
    }
    expect(missing).toEqual([]);
  });

  test('job.start lists every job type', () => {
    const cell = methodRows.get('job.start')![0]!;
    expect(JobTypes.filter((t) => !named(cell, t))).toEqual([]);
  });
});

describe('jobs', () => {
  test('every job type has its row, with every param named', () => {
    expect(JobTypes.filter((t) => !jobRows.has(t))).toEqual([]);
    const missing: string[] = [];
    for (const t of JobTypes) {
      const cell = jobRows.get(t)?.[0] ?? '';
      const same = /retention\.plan/.test(cell) ? methodRows.get('retention.plan')![0]! : cell;
      for (const f of fields(Jobs[t].params)) if (!named(same, f)) missing.push(`${t}: ${f}`);
    }
    expect(missing).toEqual([]);
  });
});

describe('hello and notifications', () => {
  test('the hello result table has every field', () => {
    const table = section('## Handshake: `agent.hello`');
    expect(fields(HelloResultSchema).filter((f) => !named(table, `\`${f}\``) && !named(table, f))).toEqual([]);
  });

  test('every notification and its fields are described', () => {
    const text = section('### Notifications');
    for (const n of Object.keys(Notifications)) expect(text, n).toContain(`\`${n}\``);
    const progress = rows(text);
    const progressFields = fields(Notifications['job.progress']);
    expect(progressFields.filter((f) => !progress.has(f))).toEqual([]);
    const log = /`job\.log`: `\{([^}]*)\}`/.exec(text)?.[1] ?? '';
    expect(fields(Notifications['job.log']).filter((f) => f !== 'event' && !named(log, f))).toEqual([]);
  });
});
