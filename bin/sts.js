#!/usr/bin/env node
// Entry point of the `sts` CLI. TypeScript runs through tsx so the CLI, the processors it spawns
// and the tests all execute the same sources, with no build step that could go stale.
require('tsx/cjs');
require('../ops/cli/main.ts').runCli(process.argv);
