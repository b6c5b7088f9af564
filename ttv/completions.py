"""Static shell completion scripts generated from the CLI itself (checked for drift by a test).

Typer's own `--install-completion` scripts call back into ttv at every TAB (slow with a cold Python);
these static scripts list commands, options and option values directly. Values come from three places:
the fixed choices of an option (`--mode keyframe|chain`), the backend names registered when the script
was generated (`--backend`, `--keyframes`, `--planner`, `ttv backends info NAME`), and the project at TAB
time (`--only` and `ttv cancel` complete segment ids, `--reroll` keyframe ids, read from plan.toml of the
`-p` folder or of the project containing the current folder). Global options before the command
(`ttv -v re<TAB>`, `ttv --key runway=... render --on<TAB>`) are skipped when finding the command.

Regenerate with `python scripts/gen_completions.py`.
"""

from __future__ import annotations

import re
from typing import Any

import typer.main

SHELLS = ("bash", "zsh", "fish")

# Options whose value is a backend name of one kind (the registry knows the names).
_BACKEND_KIND_OF_OPTION = {"--backend": "video", "-b": "video", "--keyframes": "image", "--provider": "image",
                           "--planner": "planner"}
# Options whose value comes from the project at TAB time.
_PROJECT_VALUES = {"--only": "ids", "--reroll": "keyframes"}
# Options whose value is a path (file or folder).
_PATH_OPTIONS = {"--project", "-p", "--from-dir", "--idea-file"}
# Positional arguments: what they complete to.
_POSITIONAL = {"keys set": "providers", "keys remove": "providers", "backends info": "backends",
               "cancel": "segments"}
_GLOBAL_WITH_VALUE = ("--key",)


def _first_sentence(text: str) -> str:
    # "e.g. s001" and "i.e. x" are not sentence ends.
    return re.split(r"(?<!e\.g)(?<!i\.e)\.\s", text.strip(), maxsplit=1)[0].rstrip(".")


def _choices(param: Any) -> list[str]:
    descriptor = getattr(param, "type_descriptor", None)  # Typer's description of the annotation
    if descriptor is None or not getattr(descriptor, "is_choice", False):
        return []
    return [str(c) for c in descriptor.choices or ()]


def _tree() -> dict[str, dict[str, Any]]:
    """{command: {"help", "options": [(flag, help, takes_value, values)], "sub": {...}}} from the Typer app."""
    from ttv.cli import app

    root = typer.main.get_command(app)

    def describe(cmd: Any) -> dict[str, Any]:
        opts = []
        for param in getattr(cmd, "params", []):
            takes_value = not (getattr(param, "is_flag", False) or getattr(param, "count", False))
            for flag in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]:
                if flag.startswith("-"):
                    opts.append((flag, _first_sentence(getattr(param, "help", "") or ""), takes_value,
                                 _choices(param)))
        sub = {name: describe(c) for name, c in sorted(getattr(cmd, "commands", {}).items())}
        return {"help": (cmd.help or "").strip().splitlines()[0] if cmd.help else "", "options": opts, "sub": sub}

    return describe(root)["sub"]


def _backend_names() -> dict[str, list[str]]:
    """Registered backend names per kind, as of generation time (plugins installed later complete as files)."""
    from ttv.backends import registry

    return {kind: registry.names(kind) for kind in ("video", "image", "planner")}


def _key_providers() -> list[str]:
    """Key providers of the registered backends, their aliases and the backend names that use them, read
    from the backend classes themselves (not the process-wide key register, which classes defined
    elsewhere in the same process, e.g. in tests, may have added to)."""
    from ttv.backends import registry

    words: set[str] = set()
    for name in registry.names():
        provider = getattr(registry.load_class(name), "key_provider", None)
        if provider is not None and getattr(provider, "name", None):
            words.update({provider.name, name, *getattr(provider, "aliases", ())})
    return sorted(words)


def _value_words(tree: dict[str, dict[str, Any]], names: dict[str, list[str]]) -> dict[str, str]:
    """Option flag -> the words it completes to (fixed choices and backend names)."""
    words: dict[str, str] = {}

    def walk(node: dict[str, Any]) -> None:
        for flag, _help, _takes, values in node["options"]:
            if values:
                words[flag] = " ".join(values)
        for child in node["sub"].values():
            walk(child)

    for node in tree.values():
        walk(node)
    for flag, kind in _BACKEND_KIND_OF_OPTION.items():
        words[flag] = " ".join(names[kind])
    return words


def _bash() -> str:
    tree = _tree()
    names = _backend_names()
    values = _value_words(tree, names)
    all_backends = " ".join(sorted({n for kind in names.values() for n in kind}))
    takes_value = sorted({flag for node in tree.values() for n in [node, *node["sub"].values()]
                          for flag, _h, takes, _v in n["options"] if takes} | set(_GLOBAL_WITH_VALUE))
    lines = [
        "# bash completion for ttv (generated by scripts/gen_completions.py; do not edit)",
        "_ttv_project() {",
        "    # The project folder: the -p/--project value on the line, else the nearest folder with ttv.toml.",
        "    local i dir=\"\"",
        "    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do",
        '        case "${COMP_WORDS[i]}" in -p|--project) dir="${COMP_WORDS[i+1]}" ;; esac',
        "    done",
        '    if [[ -z "$dir" ]]; then',
        '        dir="$PWD"',
        '        while [[ "$dir" != "/" && ! -f "$dir/ttv.toml" ]]; do dir="$(dirname "$dir")"; done',
        "    fi",
        '    printf "%s" "${dir/#\\~/$HOME}"',
        "}",
        "_ttv_ids() {",
        "    # Segment ids (ids) or keyframe ids (keyframes) from the project's plan.toml.",
        '    local plan; plan="$(_ttv_project)/plan.toml"; [[ -f "$plan" ]] || return 0',
        '    if [[ "$1" == keyframes ]]; then',
        "        sed -n 's/^\\(start\\|end\\)_keyframe *= *\"\\([^\"]*\\)\".*/\\2/p' \"$plan\" | sort -u",
        "    else",
        "        sed -n 's/^id *= *\"\\([^\"]*\\)\".*/\\1/p' \"$plan\"",
        '        [[ "$1" == ids ]] && sed -n \'s/^\\(start\\|end\\)_keyframe *= *"\\([^"]*\\)".*/\\2/p\' "$plan" | sort -u',
        "    fi",
        "}",
        "_ttv() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '    local cmd="" sub="" words="" i w npos=0',
        "    # The command is the first word that is not an option (nor the value of one): `ttv -v render`.",
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        w="${COMP_WORDS[i]}"',
        '        case "$w" in',
        f"            {'|'.join(takes_value)}) ((i++)); continue ;;",
        "            -*) continue ;;",
        "        esac",
        '        if [[ -z "$cmd" ]]; then cmd="$w"; elif [[ -z "$sub" ]]; then sub="$w"; else ((npos++)); fi',
        "    done",
        '    case "$prev" in',
    ]
    for flag, words in sorted(values.items()):
        lines.append(f'        {flag}) COMPREPLY=( $(compgen -W "{words}" -- "$cur") ); return 0 ;;')
    for flag, what in _PROJECT_VALUES.items():
        lines.append(f'        {flag}) local IFS=$\'\\n\'; local have="${{cur%,*}}"; '
                     f'[[ "$cur" == *,* ]] || have=""; '
                     f'COMPREPLY=( $(compgen -W "$(_ttv_ids {what})" -- "${{cur##*,}}") ); '
                     f'[[ -n "$have" ]] && COMPREPLY=( "${{COMPREPLY[@]/#/$have,}}" ); return 0 ;;')
    lines.append(f"        {'|'.join(sorted(_PATH_OPTIONS))}) COMPREPLY=( $(compgen -f -- \"$cur\") ); return 0 ;;")
    lines.append(f"        {'|'.join(t for t in takes_value if t not in values and t not in _PROJECT_VALUES and t not in _PATH_OPTIONS)})"  # noqa: E501
                 " return 0 ;;  # a value only the user knows")
    lines += ["    esac",
              '    if [[ -z "$cmd" ]]; then',
              f'        COMPREPLY=( $(compgen -W "{" ".join(tree)} --help --version --verbose -v --key" -- "$cur") )',
              "        return 0",
              "    fi",
              '    case "$cmd" in']
    for name, node in tree.items():
        if node["sub"]:
            lines.append(f"        {name})")
            lines.append('            if [[ -z "$sub" ]]; then')
            lines.append(f'                words="{" ".join(node["sub"])}"')
            lines.append("            else")
            lines.append('                case "$sub" in')
            for sname, snode in node["sub"].items():
                flags = " ".join(f for f, *_ in snode["options"])
                positional = _POSITIONAL.get(f"{name} {sname}")
                if positional:
                    source = " ".join(_key_providers()) if positional == "providers" else all_backends
                    lines.append(f'                    {sname}) [[ "$cur" != -* && $npos -eq 0 ]] && '
                                 f'{{ COMPREPLY=( $(compgen -W "{source}" -- "$cur") ); return 0; }}; '
                                 f'words="{flags}" ;;')
                else:
                    lines.append(f'                    {sname}) words="{flags}" ;;')
            lines.append("                esac")
            lines.append("            fi ;;")
        else:
            flags = " ".join(f for f, *_ in node["options"])
            if _POSITIONAL.get(name) == "segments":
                lines.append(f'        {name}) [[ "$cur" != -* ]] && '
                             f'{{ COMPREPLY=( $(compgen -W "$(_ttv_ids segments)" -- "$cur") ); return 0; }}; '
                             f'words="{flags}" ;;')
            else:
                lines.append(f'        {name}) words="{flags}" ;;')
    lines += ["    esac",
              '    if [[ "$cur" == -* || ( -z "$sub" && -n "$words" && "$words" != -* ) ]]; then',
              '        COMPREPLY=( $(compgen -W "$words" -- "$cur") )',
              "    else",
              '        COMPREPLY=( $(compgen -f -- "$cur") )',
              "    fi", "}", "complete -o filenames -F _ttv ttv", ""]
    return "\n".join(lines)


def _zsh() -> str:
    return ("#compdef ttv\n# zsh completion for ttv (generated by scripts/gen_completions.py; do not edit)\n"
            "autoload -U +X bashcompinit && bashcompinit\n" + _bash().split("\n", 1)[1])


def _fish_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _fish() -> str:
    tree = _tree()
    names = _backend_names()
    values = _value_words(tree, names)
    lines = ["# fish completion for ttv (generated by scripts/gen_completions.py; do not edit)",
             "complete -c ttv -f",
             "function __ttv_ids",
             "    # Segment ids (ids/segments) or keyframe ids (keyframes) from the project's plan.toml.",
             "    set -l dir (pwd)",
             "    set -l i (contains -i -- -p (commandline -opc)); or set i (contains -i -- --project (commandline -opc))",
             "    if test -n \"$i\"; set dir (commandline -opc)[(math $i + 1)]; else",
             "        while test \"$dir\" != / -a ! -f \"$dir/ttv.toml\"; set dir (dirname $dir); end",
             "    end",
             "    test -f \"$dir/plan.toml\"; or return",
             "    if test \"$argv[1]\" != keyframes",
             "        string replace -rf '^id *= *\"([^\"]*)\".*' '$1' < \"$dir/plan.toml\"",
             "    end",
             "    if test \"$argv[1]\" != segments",
             "        string replace -rf '^(start|end)_keyframe *= *\"([^\"]*)\".*' '$2' < \"$dir/plan.toml\" | sort -u",
             "    end",
             "end",
             "complete -c ttv -l verbose -s v -d 'Show tracebacks and debug detail'",
             "complete -c ttv -l key -x -d 'API key for this run only, as PROVIDER=KEY'"]
    all_names = " ".join(tree)
    for name, node in tree.items():
        lines.append(f"complete -c ttv -n 'not __fish_seen_subcommand_from {all_names}' -a {name} "
                     f"-d '{_fish_escape(node['help'])}'")
        for sname, snode in node["sub"].items():
            lines.append(f"complete -c ttv -n '__fish_seen_subcommand_from {name}' -a {sname} "
                         f"-d '{_fish_escape(snode['help'])}'")
            for option in snode["options"]:
                lines.append(_fish_flag(f"{name} {sname}", option, values))
            positional = _POSITIONAL.get(f"{name} {sname}")
            if positional:
                source = (" ".join(_key_providers()) if positional == "providers"
                          else " ".join(sorted({n for kind in names.values() for n in kind})))
                lines.append(f"complete -c ttv -n '__fish_seen_subcommand_from {name} && "
                             f"__fish_seen_subcommand_from {sname}' -a '{source}'")
        for option in node["options"]:
            lines.append(_fish_flag(name, option, values))
        if _POSITIONAL.get(name) == "segments":
            lines.append(f"complete -c ttv -n '__fish_seen_subcommand_from {name}' -a '(__ttv_ids segments)'")
    return "\n".join(lines) + "\n"


def _fish_flag(cond: str, option: tuple[str, str, bool, list[str]], values: dict[str, str]) -> str:
    flag, help_text, takes_value, _choices_ = option
    words = cond.split()
    condition = " && ".join(f"__fish_seen_subcommand_from {w}" for w in words)
    spec = f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}"
    if flag in values:
        spec += f" -x -a '{values[flag]}'"
    elif flag in _PROJECT_VALUES:
        spec += f" -x -a '(__ttv_ids {_PROJECT_VALUES[flag]})'"
    elif flag in _PATH_OPTIONS:
        spec += " -r -F"
    elif takes_value:
        spec += " -x"
    return f"complete -c ttv -n '{condition}' {spec} -d '{_fish_escape(help_text)}'"


def generate(shell: str) -> str:
    if shell == "bash":
        return _bash()
    if shell == "zsh":
        return _zsh()
    if shell == "fish":
        return _fish()
    raise ValueError(f"unknown shell {shell!r}; known: {', '.join(SHELLS)}")
