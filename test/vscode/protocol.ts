/**
 * What the in-editor test harness (test/vscode/suite) and the runner outside agree on.
 * The harness only prints lines and writes one JSON file: the same suite must also run
 * under @vscode/test-electron on desktop VS Code, where no runner of ours is listening.
 */

/**
 * Prefix of every report line the harness prints. The workbench forwards the extension
 * host's console to `codeAutomationLog` together with its own log, so the runner needs a
 * way to pick out the report.
 */
export const reportPrefix = '[ctd-test] ';

/** Environment variable: where the harness writes its `SuiteResults` (if set). */
export const resultsFileEnv = 'CTD_VSCODE_RESULTS';
/** Environment variable: a regular expression; only tests whose full name matches run. */
export const grepEnv = 'CTD_VSCODE_GREP';

export interface TestResult {
  readonly name: string;
  readonly status: 'passed' | 'failed';
  readonly durationMs: number;
  readonly error?: string;
}

export interface SuiteResults {
  readonly passed: number;
  readonly failed: number;
  readonly vscodeVersion: string;
  readonly tests: readonly TestResult[];
}
