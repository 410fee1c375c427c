/**
 * The fix builders: pure functions from a decision (and the host facts it needs) to a complete
 * Fix. Each validates its inputs (validate.ts) before building anything; every command is an
 * argv array (rendered only by quote.ts); every Fix carries its trade-off in `notes`.
 */
export { raiseMax, setBuckets, setSysctl, setConntrackTimeout, loadModuleAtBoot } from './sysctl-fixes';
export type { RaiseMaxInput, SetBucketsInput, SetSysctlInput, LoadModuleInput, SysctlHost, ConntrackModuleState } from './sysctl-fixes';
export { deleteEntries, flushTable, countArgv, filterArgs, describeFilter, validateEntryFilter } from './entries-fixes';
export type { EntryFilter, ValidEntryFilter, DeleteEntriesInput, FlushTableInput } from './entries-fixes';
export { invalidDropRule, insertNftRuleInConf, RULE_TAG, NFT_RULE_TEXT, NFT_TAG_TEXT, NFTABLES_CONF } from './invalid-rule';
export type { InvalidDropInput, FirewallTarget, FirewallPersistence } from './invalid-rule';
export { persistSysctlKey, SYSCTL_DROP_IN } from './persist-sysctl';
export type { PersistSysctlInput, PersistSysctlResult } from './persist-sysctl';
export { MODULES_LOAD_PATH, MODPROBE_PATH, modulesLoadEdit, modulesLoadContent, loadsNfConntrack, setModprobeHashsize } from './module-files';
export { applySysctlFile, changedAssignmentLines, liveVersionOf } from './apply-file';
export type { ApplyFileInput } from './apply-file';
