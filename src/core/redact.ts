/**
 * Secrets never leave a plugin: its `description`, log lines and errors go
 * through this before anyone sees them. It blanks the secrets a plugin names
 * (a key it read from a file, a session token) and what looks like one
 * whatever the plugin: AWS access key ids, signed-URL query parameters
 * (X-Amz-Signature, X-Goog-Signature, access_token, ...), Authorization
 * headers and bearer tokens, PEM private keys and a service account's
 * "private_key".
 */
import { LifeboatError } from './errors.js';

const PATTERNS: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, '[private key]'],
  [/("private_key"\s*:\s*")[^"]*(")/g, '$1***$2'],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/g, '$1****************'],
  [/\b((?:X-Amz|X-Goog)-(?:Signature|Credential|Security-Token)|Signature|access_token|refresh_token|client_secret|sig|token)=([^&\s"'<>]+)/gi, '$1=***'],
  [/\b(Authorization\s*[:=]\s*)("?)(?:[A-Za-z0-9-]+\s+)?[^\s",]+/gi, '$1$2***'],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/g, 'Bearer ***'],
  [/\b(aws_secret_access_key|secretAccessKey|secret_access_key|sessionToken|aws_session_token)(["']?\s*[:=]\s*["']?)[^\s"',}]+/gi, '$1$2***'],
];

/** `text` with every named secret and every secret-looking token blanked. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('***');
  for (const [re, to] of PATTERNS) out = out.replace(re, to);
  return out;
}

/** The same error with its message, hint, cause and string details redacted. */
export function redactError(err: LifeboatError, secrets: readonly string[] = []): LifeboatError {
  const details = err.details ? Object.fromEntries(Object.entries(err.details).map(([k, v]) => [k, typeof v === 'string' ? redact(v, secrets) : v])) : undefined;
  const cause = err.cause instanceof Error ? redact(err.cause.message, secrets) : typeof err.cause === 'string' ? redact(err.cause, secrets) : undefined;
  return new LifeboatError(err.code, redact(err.message, secrets), {
    ...(err.hint ? { hint: redact(err.hint, secrets) } : {}),
    ...(details ? { details } : {}),
    ...(cause ? { cause: new Error(cause) } : {}),
  });
}
