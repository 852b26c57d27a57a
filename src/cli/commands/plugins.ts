import type { Command } from 'commander';
import { LifeboatError } from '../../core/errors.js';
import { table } from '../../client/format.js';
import { Exit, printJson, withAgent, type GlobalOptions } from '../session.js';

export function registerPlugins(program: Command, globals: () => GlobalOptions): void {
  const plugins = program.command('plugins').description('the source and storage plugins the agent has loaded');
  plugins
    .command('list')
    .description('each plugin: name, version, plugin API, kinds, and where it came from')
    .addHelpText(
      'after',
      `
Plugins come from three places: the built-ins (postgres, local), the paths
and packages the config's "plugins" names, and installed npm packages named
lifeboat-plugin-* (next to the config, in <config dir>/node_modules, or beside
lifeboat itself). A plugin built for another plugin API is refused when it
loads, with a message naming both versions (docs/plugins.md).`,
    )
    .action(async () => {
      const g = globals();
      const hello = await withAgent(g, async (c) => c.hello!);
      const configError = hello.config && 'error' in hello.config ? hello.config.error : undefined;
      if (g.json) printJson({ ok: !configError, plugins: hello.plugins, ...(configError ? { error: configError } : {}) });
      else {
        const rows = hello.plugins.map((p) => [p.name, p.version, String(p.apiVersion ?? ''), p.kinds.join(','), p.from ?? '']);
        process.stdout.write(table([{ header: 'NAME' }, { header: 'VERSION' }, { header: 'API' }, { header: 'KINDS' }, { header: 'FROM', wrap: true }], rows) + '\n');
      }
      // with a broken config only the built-ins are listed: say why, as other commands would fail
      if (configError) {
        const e = LifeboatError.fromJSON(configError);
        process.stderr.write(`lifeboat: the config did not load, so only the built-ins are listed: ${e.message}\n`);
        process.exitCode = Exit.USAGE;
      }
    });
}
