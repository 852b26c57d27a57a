export * from './messages.js';
export * from './lines.js';
export * from './methods.js';
