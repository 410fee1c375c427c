/**
 * extensionTestsPath entry: VS Code loads the bundle built from this folder and calls run().
 * The bundle's entry (made by test/vscode/buildSuite.ts) imports every *.spec.ts here first,
 * so adding a spec file is all it takes to add tests.
 */
import * as vscode from 'vscode';
import { runSuite } from './harness';

export function run(): Promise<void> {
  return runSuite(vscode.version);
}
