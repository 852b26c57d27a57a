import { describe, expect, test } from 'vitest';
import { toolError } from '../../src/core/exec.js';
import { toLifeboatError } from '../../src/core/errors.js';

// An agent started from a directory its user cannot enter (runuser/sudo from
// root's home) could not start any tool, and said only "psql failed (failure)".
test('a tool that cannot be started says why, not "failed (failure)"', async () => {
  const e = toolError('psql', Object.assign(new Error('spawn psql EACCES'), { code: 'EACCES' }));
  expect(e.message).toMatch(/^psql could not be started: EACCES \(permission denied; is the working directory .+ readable/);
  expect(e.hint).toMatch(/cd \//);
});

describe('file-system errors in plain words (issue 10 item 13)', () => {
  const errno = (code: string, syscall: string, p?: string) => Object.assign(new Error(`${code}: raw, ${syscall}${p ? ` '${p}'` : ''}`), { code, syscall, ...(p ? { path: p } : {}) });
  test('permission, a directory for a file, a file for a directory, read-only: FILE_ACCESS naming the path', () => {
    const denied = toLifeboatError(errno('EACCES', 'mkdir', '/srv/x/state'));
    expect(denied.code).toBe('FILE_ACCESS');
    expect(denied.message).toMatch(/^permission denied: \S+ may not use \/srv\/x\/state \(mkdir\)$/);
    expect(denied.hint).toContain('/srv/x/state');
    expect(toLifeboatError(errno('EISDIR', 'open', '/etc/lifeboat')).message).toBe('/etc/lifeboat is a directory, where a file belongs (open)');
    expect(toLifeboatError(errno('EISDIR', 'read')).message).toBe('a path Lifeboat reads as a file is a directory, where a file belongs (read)');
    expect(toLifeboatError(errno('ENOTDIR', 'mkdir', '/a/file/sub')).message).toMatch(/^\/a\/file\/sub \(or a directory above it\) is a file/);
    expect(toLifeboatError(errno('EEXIST', 'mkdir', '/a/file')).code).toBe('FILE_ACCESS');
    expect(toLifeboatError(errno('EROFS', 'open', '/mnt/ro/x')).message).toContain('read-only file system');
  });
  test('other errors keep their message and the fallback code', () => {
    expect(toLifeboatError(errno('EEXIST', 'link', '/a')).code).toBe('INTERNAL');
    expect(toLifeboatError(errno('ECONNRESET', 'read'), 'STORAGE_FAILED').code).toBe('STORAGE_FAILED');
  });
});
