/** Bundles the console into `outDir` (default packages/console/dist); resolves to that directory. */
export function buildConsole(outDir?: string): Promise<string>;
