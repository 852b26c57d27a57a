import { describe, expect, test } from 'vitest';
import { parseTargetTime } from '../../src/core/pitr.js';

// recovery_target_time as PostgreSQL reads it at start (no zone abbreviations loaded yet)
describe('parseTargetTime', () => {
  test('Z, UTC and numeric zones become a numeric offset; every fraction digit is kept', () => {
    expect(parseTargetTime('2026-11-21T09:30:00Z')).toEqual({ time: '2026-11-21 09:30:00+00:00', ms: Date.parse('2026-11-21T09:30:00Z') });
    expect(parseTargetTime('2026-11-21T09:30:00.123456Z').time).toBe('2026-11-21 09:30:00.123456+00:00');
    expect(parseTargetTime('2026-11-21T09:30:00.123456Z').ms).toBe(Date.parse('2026-11-21T09:30:00.123Z'));
    expect(parseTargetTime('2026-11-21 09:30:00 UTC').time).toBe('2026-11-21 09:30:00+00:00');
    expect(parseTargetTime('2026-11-21 09:30:00+00').time).toBe('2026-11-21 09:30:00+00:00');
    expect(parseTargetTime('2026-11-21 09:30+0530')).toEqual({ time: '2026-11-21 09:30:00+05:30', ms: Date.parse('2026-11-21T04:00:00Z') });
    expect(parseTargetTime(' 2026-11-21 09:30:00.5-05 ').ms).toBe(Date.parse('2026-11-21T14:30:00.500Z'));
    expect(parseTargetTime(new Date(0).toISOString()).ms).toBe(0);
  });

  test('a time without a zone, or not a time, is refused with an example', () => {
    expect(() => parseTargetTime('2026-11-21 09:30:00')).toThrow(/has no time zone/);
    for (const bad of ['yesterday', 'now', '2026-02-30 10:00:00+00', '2026-11-21 24:00:00+00', '2026-11-21 09:61+00', '2026-11-21 09:30:00+16', '09:30 2026-11-21', '']) {
      expect(() => parseTargetTime(bad), bad).toThrow(/is not a time/);
    }
  });
});
