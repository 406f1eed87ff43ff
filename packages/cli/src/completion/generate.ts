import type { Command } from 'commander';

/** One command of the tree: its path from the root, subcommands (with descriptions) and option flags. */
interface Node {
  path: string;
  subcommands: { name: string; description: string }[];
  options: { flag: string; description: string }[];
}

function flagsOf(cmd: Command): { flag: string; description: string }[] {
  const out: { flag: string; description: string }[] = [];
  for (const o of cmd.options) {
    if (o.hidden) continue;
    for (const f of [o.long, o.short]) if (f) out.push({ flag: f, description: o.description });
  }
  return out;
}

/** Every command, depth first; the root's options (the `--os-*` ones) are offered at every level, as they are accepted there. */
export function commandTree(root: Command): Node[] {
  const help = { flag: '--help', description: 'display help' };
  // --version is the root's alone; the --os-* options are accepted after any command.
  const global = [...flagsOf(root).filter((o) => o.flag !== '--version'), help];
  const nodes: Node[] = [];
  const walk = (cmd: Command, path: string): void => {
    const subs = cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
    nodes.push({
      path,
      subcommands: [
        ...subs.flatMap((c) => [c.name(), ...c.aliases()].map((name) => ({ name, description: c.description() }))),
        // A first argument with fixed choices (`completion bash|zsh`) completes like a subcommand.
        ...(cmd.registeredArguments[0]?.argChoices ?? []).map((name) => ({ name, description: cmd.registeredArguments[0]?.description ?? '' })),
      ],
      options: cmd === root ? [...flagsOf(root), help] : [...flagsOf(cmd), ...global],
    });
    for (const c of subs) for (const name of [c.name(), ...c.aliases()]) walk(c, `${path} ${name}`);
  };
  walk(root, root.name());
  return nodes;
}

/** A string in single quotes for both shells (a quote becomes '\''). */
function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? '').trim();
}

function bash(name: string, nodes: Node[]): string {
  const fn = `_${name.replace(/\W/g, '_')}`;
  const subs = nodes.map((n) => `  [${quote(n.path)}]=${quote(n.subcommands.map((s) => s.name).join(' '))}`).join('\n');
  const opts = nodes.map((n) => `  [${quote(n.path)}]=${quote(n.options.map((o) => o.flag).join(' '))}`).join('\n');
  return `# bash completion for ${name}, generated from its command tree by \`${name} completion bash\`.
declare -gA ${fn}_subs=(
${subs}
)
declare -gA ${fn}_opts=(
${opts}
)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path=${quote(name)} w i
  # The deepest command the typed words name; option values and positionals are skipped.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    [[ -n "\${${fn}_subs["$path $w"]+set}" ]] && path="$path $w"
  done
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "\${${fn}_opts["$path"]}" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "\${${fn}_subs["$path"]}" -- "$cur"))
  fi
}
complete -F ${fn} ${name}
`;
}

function zsh(name: string, nodes: Node[]): string {
  const fn = `_${name.replace(/\W/g, '_')}`;
  const entry = (items: { name: string; description: string }[]) =>
    quote(items.map((i) => `${i.name.replace(/:/g, '\\:')}:${firstLine(i.description)}`).join('\n'));
  const subs = nodes.map((n) => `  ${quote(n.path)} ${entry(n.subcommands)}`).join('\n');
  const opts = nodes
    .map((n) => `  ${quote(n.path)} ${entry(n.options.map((o) => ({ name: o.flag, description: o.description })))}`)
    .join('\n');
  return `#compdef ${name}
# zsh completion for ${name}, generated from its command tree by \`${name} completion zsh\`.
typeset -gA ${fn}_subs ${fn}_opts
${fn}_subs=(
${subs}
)
${fn}_opts=(
${opts}
)
${fn}() {
  # cpath, not path: zsh ties $path to $PATH.
  local cpath=${quote(name)} w i
  local -a items
  for ((i = 2; i < CURRENT; i++)); do
    w=\${words[i]}
    [[ $w == -* ]] && continue
    (( \${+${fn}_subs[$cpath $w]} )) && cpath="$cpath $w"
  done
  if [[ \${words[CURRENT]} == -* ]]; then
    items=(\${(f)${fn}_opts[$cpath]})
    _describe -t options option items
  else
    items=(\${(f)${fn}_subs[$cpath]})
    _describe -t commands command items
  fi
}
if [[ \${funcstack[1]} == ${fn} ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${name}
fi
`;
}

/** The completion script for `shell`, with the tree of `root` (its name is the command completed). */
export function completionScript(root: Command, shell: 'bash' | 'zsh'): string {
  const nodes = commandTree(root);
  return shell === 'bash' ? bash(root.name(), nodes) : zsh(root.name(), nodes);
}
