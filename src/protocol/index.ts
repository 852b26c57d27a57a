export * from './messages.js';
export * from './lines.js';
