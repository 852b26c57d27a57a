/**
 * Point-in-time recovery plans, each its own file `<stateDir>/plans/<id>.json`
 * (0600, written whole to a temporary file, synced and renamed): a recovery
 * plan and how far its steps got must survive anything, so they do not live in
 * state.json, which is a cache and a job log that may be deleted (and is
 * started afresh when damaged). Each plan is written whole by the job walking
 * it, so walks of different plans never lose each other's steps, and one plan
 * is walked by one job at a time (its lock, locks/plans/<id>.lock, is taken by
 * applyPitr). Plans that earlier versions kept in
 * state.json are moved here when first read.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { readSmallFile } from '../config/small-file.js';
import { LifeboatError } from '../core/errors.js';
import type { PitrPlan } from '../core/pitr.js';
import type { AgentState } from './state.js';

const PLAN_ID = /^pitr-\d{14}-[0-9a-f]{4}$/;
const MAX_PLAN_BYTES = 16 * 1024 * 1024;

export class PlanStore {
  readonly dir: string;
  private migrated = false;

  constructor(
    stateDir: string,
    private readonly legacy?: AgentState,
  ) {
    this.dir = path.join(stateDir, 'plans');
  }

  /** Write a plan whole; a crash leaves the old file or the new one. */
  save(plan: PitrPlan): void {
    if (!PLAN_ID.test(plan.id)) throw new LifeboatError('INTERNAL', `not a plan id: ${JSON.stringify(plan.id)}`);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, `${plan.id}.json`);
    const tmp = `${file}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(plan, null, 2) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  }

  async list(): Promise<PitrPlan[]> {
    await this.migrate();
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: PitrPlan[] = [];
    for (const n of names) {
      const m = /^(pitr-\d{14}-[0-9a-f]{4})\.json$/.exec(n);
      if (!m) continue;
      const plan = this.read(m[1]!);
      if (plan) out.push(plan);
    }
    return out;
  }

  /** A plan by id or unique prefix; undefined when there is none. */
  async get(ref: string): Promise<PitrPlan | undefined> {
    await this.migrate();
    if (PLAN_ID.test(ref) && existsSync(path.join(this.dir, `${ref}.json`))) return this.read(ref);
    if (!/^[a-z0-9-]+$/.test(ref)) return undefined;
    const hits = (await this.list()).filter((p) => p.id.startsWith(ref));
    if (hits.length > 1) throw new LifeboatError('USAGE', `plan ${ref} is ambiguous: ${hits.map((p) => p.id).join(', ')}`);
    return hits[0];
  }

  private read(id: string): PitrPlan | undefined {
    const file = path.join(this.dir, `${id}.json`);
    const plan = JSON.parse(readSmallFile(file, 'recovery plan', MAX_PLAN_BYTES)) as PitrPlan;
    if (plan.id !== id) throw new LifeboatError('MANIFEST_INVALID', `${file} holds plan ${JSON.stringify(plan.id)}, not ${id}`);
    return plan;
  }

  /** Plans earlier versions kept in state.json become files (the state's copy is left: it is only a cache). */
  private async migrate(): Promise<void> {
    if (this.migrated || !this.legacy) return;
    this.migrated = true;
    const old = (await this.legacy.read()).plans ?? {};
    for (const plan of Object.values(old)) {
      if (PLAN_ID.test(plan.id) && !existsSync(path.join(this.dir, `${plan.id}.json`))) this.save(plan);
    }
  }
}
