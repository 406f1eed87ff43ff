import { Argument, type Command } from 'commander';

/** `cinderbox completion bash|zsh`: a completion script generated from the registered command tree. */
export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('Print a shell completion script (bash: `source <(cinderbox completion bash)`; zsh: the same, or save it as _cinderbox in $fpath)')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .action(async (shell: 'bash' | 'zsh', _opts: unknown, cmd: Command) => {
      const { completionScript } = await import('../completion/generate.js');
      let root = cmd;
      while (root.parent) root = root.parent;
      process.stdout.write(completionScript(root, shell));
    });
}
