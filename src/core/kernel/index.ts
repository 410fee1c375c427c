/** Pure parsers for every kernel / tool output a host gives. Strings in, typed values out; no I/O. */
export * from './result';
export * from './conntrackStats';
export * from './conntrackEntries';
export * from './lineSplitter';
export * from './conntrackTable';
export * from './spaceSaving';
export * from './entrySummary';
export * from './conntrackCommands';
export * from './sysctlOutput';
export * from './slabinfo';
export * from './memory';
export * from './iptablesBackend';
export * from './kernelLog';
export * from './invalidRules';
