/** Test helpers for plugin authors and lifeboat's own tests (`lifeboat/plugin/testing`): the storage conformance suite, in-memory test doubles, byte streams. */
export { storageConformance, type ConformanceOptions, type StorageFactory } from './conformance.js';
export { SeededStream, bodyOf, patternBytes, readAll, stallingBody } from './streams.js';
export { MemoryStorage, memoryStoragePlugin, type KeyMatch, type MemoryStorageOptions, type StorageCall, type StorageFault, type StorageOp } from './memory-storage.js';
export {
  fakeSource,
  FakeConfigSchema,
  type FakeCall,
  type FakeConfig,
  type FakeFailure,
  type FakeObject,
  type FakeSource,
  type FakeSourceScript,
  type FakeStepName,
} from './fake-source.js';
export { storedReader, storeWriter, testManifest, testStepContext, type TestBackupWriter, type TestStepContext } from './steps.js';
