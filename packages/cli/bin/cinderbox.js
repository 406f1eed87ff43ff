#!/usr/bin/env node
// Plain-JS launcher of the compiled CLI, so start-up pays for no TypeScript tooling.
// `cinderbox --version` alone is answered without loading commander (start-up budget 150 ms).
const args = process.argv.slice(2);
const run =
  args.length === 1 && args[0] === '--version'
    ? import('../dist/version.js').then((m) => process.stdout.write(`${m.VERSION}\n`))
    : import('../dist/main.js').then((m) => m.main(process.argv));
run.catch((err) => {
  process.stderr.write(`cinderbox: ${err?.message ?? err}\n`);
  process.exit(1);
});
