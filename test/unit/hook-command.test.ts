import { expect, test } from 'vitest';
import { parseArchiveCommand, shellWords } from '../../src/core/hook-command.js';

test('shellWords splits as sh does (quotes, escapes, no expansion)', () => {
  expect(shellWords(`'/usr/bin/node' '/a b/lifeboat.js' --config '/etc/it'\\''s.json' wal push %p`)).toEqual(['/usr/bin/node', '/a b/lifeboat.js', '--config', "/etc/it's.json", 'wal', 'push', '%p']);
  expect(shellWords(`a "b \\"c\\" $d" e\\ f  ''`)).toEqual(['a', 'b "c" $d', 'e f', '']);
});

test('parseArchiveCommand reads mode, config, cluster and spool of lifeboat lines only (issue 11 item 8)', () => {
  expect(parseArchiveCommand(`'node' '/x/bin/lifeboat.js' --config '/etc/l.json' wal push --cluster 'main' %p`)).toEqual({ mode: 'sync', config: '/etc/l.json', cluster: 'main' });
  expect(parseArchiveCommand(`lifeboat --config=/etc/l.json wal push -c main %p`)).toEqual({ mode: 'sync', config: '/etc/l.json', cluster: 'main' });
  expect(parseArchiveCommand(`'/x/bin/lifeboat-archive' --node '/usr/bin/node' --config '/etc/l.json' --cluster 'main' --spool '/var/spool/l' %p`)).toEqual({ mode: 'async', config: '/etc/l.json', cluster: 'main', spool: '/var/spool/l' });
  expect(parseArchiveCommand('cp %p /mnt/wal/%f')).toBeUndefined();
  expect(parseArchiveCommand('pgbackrest --stanza=main archive-push %p')).toBeUndefined();
  expect(parseArchiveCommand(`lifeboat --config /etc/l.json wal fetch %f %p`)).toBeUndefined();
});
