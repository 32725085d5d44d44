"""mkdocs hook: pages generated from the code at build time, so the handbook cannot drift.

A marker comment in a page is replaced by text built from the installed ``accord``:

- ``<!-- accord:cli -->`` — the command-line reference, walked from the typer app;
- ``<!-- accord:model NAME -->`` — a model's citation, presets and parameters (registry);
- ``<!-- accord:formats -->`` — the file formats accord reads and writes (reader registry).
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"<!--\s*accord:(cli|model|formats)\s*([\w\-]*)\s*-->")


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _cli() -> str:
    """Walk the command tree. Duck-typed: typer may bring click or its own copy of it."""
    import typer

    from accord.cli import app

    root = typer.main.get_command(app)
    out: list[str] = []

    def doc(cmd) -> str:
        return (cmd.help or "").strip()

    def walk(cmd, path: list[str], ctx) -> None:
        if hasattr(cmd, "list_commands"):
            if len(path) > 1:
                out.append(f"## `{' '.join(path)}`\n\n{doc(cmd)}\n")
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if sub is not None and not getattr(sub, "hidden", False):
                    walk(sub, path + [name], sub.context_class(sub, info_name=name, parent=ctx))
            return
        out.append(f"{'###' if len(path) > 2 else '##'} `{' '.join(path)}`\n")
        out.append(doc(cmd) + "\n")
        args = [p for p in cmd.params if p.param_type_name == "argument"]
        usage = " ".join(path + ["[OPTIONS]"] + [a.name.upper() for a in args])
        out.append(f"```\n{usage}\n```\n")
        rows = []
        for p in cmd.params:
            if getattr(p, "hidden", False):
                continue
            if p.param_type_name == "argument":
                name = f"`{p.name.upper()}`"
                kind = "argument" + ("" if p.required else ", optional")
            else:
                name = ", ".join(f"`{o}`" for o in list(p.opts) + list(p.secondary_opts))
                kind = "flag" if getattr(p, "is_flag", False) else \
                    p.display_type(ctx).strip("<>")
                if getattr(p, "multiple", False):
                    kind += ", repeatable"
            default = p.default
            if callable(default) or default in (None, (), [], False) or p.required:
                default = ""
            rows.append(f"| {name} | {_cell(kind)} | {_cell(default)} | "
                        f"{_cell(getattr(p, 'help', None) or '')} |")
        if rows:
            out.append("| parameter | type | default | meaning |\n|---|---|---|---|")
            out.extend(rows)
            out.append("")

    walk(root, ["accord"], root.context_class(root, info_name="accord"))
    return "\n".join(out)


def _model(name: str) -> str:
    from accord import models

    spec = models.get(name)
    out = [f"**Citation.** {spec.citation}\n",
           f"**Kind.** {'dynamic (rounds)' if spec.dynamic else 'one-shot'}; default preset "
           f"`{spec.default_preset}`.\n"]
    if any(v for v in spec.presets.values()):
        keys = sorted({k for v in spec.presets.values() for k in v})
        out.append("**Presets** (the parameters each sets):\n")
        out.append("| parameter | " + " | ".join(f"`{p}`" for p in spec.presets) + " |")
        out.append("|---|" + "---|" * len(spec.presets))
        for k in keys:
            out.append(f"| `{k}` | " + " | ".join(_cell(v.get(k, "")) for v in spec.presets.values())
                       + " |")
        out.append("")
    else:
        out.append(f"**Presets:** {', '.join(f'`{p}`' for p in spec.presets)} (no parameters "
                   "set).\n")
    if spec.params:
        out.append("**Parameters** (`--param NAME=VALUE`; ambiguity ids A1–A13 refer to the "
                   "register below):\n")
        out.append("| parameter | default | choices | meaning |\n|---|---|---|---|")
        for p in spec.params:
            choices = ", ".join(f"`{c}`" for c in p.choices) if p.choices else ""
            out.append(f"| `{p.name}` | `{p.default}` | {choices} | {_cell(p.doc)} |")
        out.append("")
    return "\n".join(out)


def _formats() -> str:
    from accord.scenario import io

    out = ["| `--format` | what it is | file names | reads | writes |", "|---|---|---|---|---|"]
    for f in io.formats().values():
        out.append(f"| `{f.name}` | {_cell(f.title)} | {', '.join(f.suffixes)} | yes | "
                   f"{'yes' if f.write else 'no'} |")
    return "\n".join(out) + "\n"


def on_page_markdown(markdown: str, page, config, files) -> str:
    def replace(m: re.Match) -> str:
        kind, arg = m.group(1), m.group(2)
        if kind == "cli":
            return _cli()
        if kind == "model":
            return _model(arg)
        return _formats()

    return _MARKER.sub(replace, markdown)


_ROLE = re.compile(r":(?:meth|func|class|data|mod|attr|exc):(?:\s|&nbsp;)*(<code)")


def on_page_content(html: str, page, config, files) -> str:
    """Docstrings cross-reference in Sphinx roles (``:func:`x```); show them as code only."""
    return _ROLE.sub(r"\1", html)
