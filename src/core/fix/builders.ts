/**
 * The fix builders: pure functions from a decision (and the host facts it needs) to a complete
 * Fix. Each validates its inputs (validate.ts) before building anything; every command is an
 * argv array (rendered only by quote.ts); every Fix carries its trade-off in `notes`.
 */
export { raiseMax, setBuckets, setSysctl, setConntrackTimeout, loadModuleAtBoot } from './sysctlFixes';
export type { RaiseMaxInput, SetBucketsInput, SetSysctlInput, LoadModuleInput, SysctlHost, ConntrackModuleState } from './sysctlFixes';
export { deleteEntries, flushTable, countArgv, filterArgs, describeFilter, validateEntryFilter } from './entriesFixes';
export type { EntryFilter, ValidEntryFilter, DeleteEntriesInput, FlushTableInput } from './entriesFixes';
export { invalidDropRule, insertNftRuleInConf, RULE_TAG, NFT_RULE_TEXT, NFT_TAG_TEXT, NFTABLES_CONF } from './invalidRule';
export type { InvalidDropInput, FirewallTarget, FirewallPersistence } from './invalidRule';
export { persistSysctlKey, SYSCTL_DROP_IN } from './persistSysctl';
export type { PersistSysctlInput, PersistSysctlResult } from './persistSysctl';
export { MODULES_LOAD_PATH, MODPROBE_PATH, modulesLoadEdit, modulesLoadContent, loadsNfConntrack, setModprobeHashsize } from './moduleFiles';
export { applySysctlFile, changedAssignmentLines, liveVersionOf } from './applyFile';
export type { ApplyFileInput } from './applyFile';
