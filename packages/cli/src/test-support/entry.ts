// Runs the CLI from source (tests): `TSX_TSCONFIG_PATH=packages/cli/tsconfig.tsx.json node --import tsx entry.ts …`.
import { main } from '../main.js';

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`cinderbox: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
