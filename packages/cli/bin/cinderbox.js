#!/usr/bin/env node
// Plain-JS launcher of the compiled CLI, so start-up pays for no TypeScript tooling.
import('../dist/main.js').then((m) => m.main(process.argv)).catch((err) => {
  process.stderr.write(`cinderbox: ${err?.message ?? err}\n`);
  process.exit(1);
});
