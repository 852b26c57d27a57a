import type { Reporter, TestModule } from 'vitest/node';

/**
 * Under CI a skipped test is a failure: a part that cannot exist here (no root,
 * no sshd) may skip a test with one line saying why on a developer's machine,
 * never silently in CI. Lists every skipped test and makes the run fail.
 */
export default class NoSkipsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped: string[] = [];
    for (const m of testModules) {
      for (const t of m.children.allTests()) {
        if (t.result().state === 'skipped') skipped.push(`${m.moduleId.replace(process.cwd() + '/', '')} > ${t.fullName}`);
      }
    }
    if (!skipped.length) return;
    process.stderr.write(`\nCI: ${skipped.length} test(s) skipped, which CI counts as failures:\n${skipped.map((s) => `  ${s}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}
