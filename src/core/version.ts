/**
 * Lifeboat's version, the one place it is written (package.json holds the same
 * string; test/unit/boundaries.test.ts fails when they differ). The agent reports
 * it in agent.hello, manifests record it, the CLI prints it, deploy names the
 * agent's directory after it.
 */
export const LIFEBOAT_VERSION = '0.1.0';
