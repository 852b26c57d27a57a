import React from 'react';
import { Box, Text } from 'ink';
import { KEYS, type Scope } from '../keys.js';
import { BACKUP_FORM_TAGS, BACKUP_KINDS, VERIFY_LEVELS, type Dialog } from '../state/model.js';
import { cell, T } from './common.js';
import { Menu, type MenuItemProps } from './menu.js';

const LEVEL_TEXT: Record<(typeof VERIFY_LEVELS)[number], string> = {
  checksum: 're-read every object: size and sha256 against the manifest',
  structure: 'checksums, then the format: pg_restore --list, or pg_verifybackup',
  restore: 'restore into a scratch database or data directory and compare',
};

const LEVEL_ITEMS = VERIFY_LEVELS.map((l) => ({ label: l, value: l }));

/** One verify level: its name (reverse video when selected) and what it checks. */
function LevelItem(p: MenuItemProps): React.ReactElement {
  return (
    <Text wrap="truncate">
      <T inverse={p.isSelected} tone={p.isSelected ? 'accent' : undefined}>
        {cell(p.label, 10)}
      </T>{' '}
      <T tone="dim">{LEVEL_TEXT[p.label as (typeof VERIFY_LEVELS)[number]]}</T>
    </Text>
  );
}

/** Every key of this view and the global ones. */
export function HelpOverlay(p: { scope: Scope; width: number; height: number }): React.ReactElement {
  const rows = KEYS.filter((k) => k.scope === p.scope || k.scope === 'global');
  return (
    <Box flexDirection="column" height={p.height} borderStyle="round" paddingX={1}>
      <T bold>Keys ({p.scope} view and everywhere) · any key closes</T>
      {rows.slice(0, Math.max(1, p.height - 3)).map((k) => (
        <Text key={k.scope + k.keys.join()} wrap="truncate">
          <T tone="accent">{cell(k.keys.join(' '), 16)}</T>
          {k.what}
        </Text>
      ))}
    </Box>
  );
}

function Choice(p: { items: readonly string[]; index: number; active: boolean }): React.ReactElement {
  return (
    <Text>
      {p.items.map((it, i) => (
        <Text key={it}>
          {i ? ' ' : ''}
          <T inverse={i === p.index && p.active} bold={i === p.index} tone={i === p.index ? 'accent' : 'dim'}>
            {i === p.index ? `[${it}]` : ` ${it} `}
          </T>
        </Text>
      ))}
    </Text>
  );
}

/** A modal: backup form, verify level, restore target, typed confirmation, or a message. */
export function DialogView(p: { dialog: Dialog; width: number; height: number }): React.ReactElement {
  const d = p.dialog;
  const inner = p.width - 4;
  let body: React.ReactElement;
  switch (d.kind) {
    case 'backup':
      body = (
        <Box flexDirection="column">
          <T bold>Back up {d.host}/{d.cluster} now</T>
          <Text> </Text>
          <Text>
            {cell('Kind', 6)}
            <Choice items={BACKUP_KINDS} index={d.kindIdx} active={d.field === 0} />
          </Text>
          <Text>
            {cell('Tag', 6)}
            <Choice items={BACKUP_FORM_TAGS} index={d.tagIdx} active={d.field === 1} />
          </Text>
          <Text> </Text>
          <T tone="dim">←/→ choose · Tab next field · Enter start · Esc cancel</T>
        </Box>
      );
      break;
    case 'verify':
      body = (
        <Box flexDirection="column">
          <T bold>Verify backup {d.id}</T>
          <Text> </Text>
          <Menu items={LEVEL_ITEMS} index={d.levelIdx} item={LevelItem} />
          <Text> </Text>
          <T tone="dim">↑/↓ choose · Enter start · Esc cancel</T>
        </Box>
      );
      break;
    case 'restore-target':
      body = (
        <Box flexDirection="column">
          <T bold>Restore backup {d.id}</T>
          <Text> </Text>
          <Text>
            into database:{' '}
            <T inverse tone="accent">
              {d.typed}▏
            </T>
          </Text>
          <Text> </Text>
          <T tone="dim">Enter shows the plan (nothing changes yet) · Esc cancel</T>
        </Box>
      );
      break;
    case 'confirm':
      body = (
        <Box flexDirection="column">
          <T bold>{d.title}</T>
          <Text> </Text>
          {d.loading ? <T tone="dim">planning…</T> : null}
          {d.error ? <T tone="bad">{d.error.message}</T> : null}
          {d.error?.hint ? <T tone="dim">hint: {d.error.hint}</T> : null}
          {d.lines.slice(0, Math.max(1, p.height - 9)).map((l, i) => (
            <Text key={i} wrap="truncate">
              {l}
            </Text>
          ))}
          <Text> </Text>
          {d.loading || d.error ? (
            <T tone="dim">Esc closes</T>
          ) : (
            <Text wrap="truncate">
              {d.expected === 'y' ? 'Type y' : `Type ${d.expected}`} to go ahead:{' '}
              <T inverse tone={d.typed === d.expected ? 'ok' : 'accent'}>
                {d.typed}▏
              </T>
              <T tone="dim"> Esc: nothing is changed</T>
            </Text>
          )}
        </Box>
      );
      break;
    case 'message':
      body = (
        <Box flexDirection="column">
          <T bold tone={d.error ? 'bad' : undefined}>
            {d.title}
          </T>
          {d.lines.map((l, i) => (
            <Text key={i} wrap="truncate">
              {l}
            </Text>
          ))}
        </Box>
      );
      break;
  }
  return (
    <Box flexDirection="column" height={p.height} borderStyle="round" paddingX={1} width={Math.min(p.width, inner + 4)}>
      {body}
    </Box>
  );
}
