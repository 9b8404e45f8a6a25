import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
// Type declarations of the matchers below (a global augmentation of jest.Matchers).
import "cdktf/lib/testing/adapters/jest";
import { speedUpSynthesis } from "../src/speed";

// Adds cdktf's matchers (toHaveResourceWithProperties, ...) to expect.
Testing.setupJest();

// cdktf's Testing.app() (and synthScope, which calls it) makes a temp output directory for every
// app and never removes one: give them directories in one of this test file's own, removed after
// its tests (global-teardown.ts fails a run that leaves temp entries behind).
const appDirs = mkdtempSync(join(tmpdir(), "cdktf-testing-"));
const testingApp = Testing.app.bind(Testing);
Testing.app = (options = {}) => testingApp({ ...options, outdir: options.outdir ?? mkdtempSync(join(appDirs, "app-")) });
afterAll(() => rmSync(appDirs, { recursive: true, force: true }));

// Synthesize as the app does (main.ts): without the stack trace cdktf records for every token
// (which jest's source-mapped stack traces make the costliest part of a synth here), and with
// plain values resolved directly (speed.test.ts compares that with cdktf's own resolve).
speedUpSynthesis();
