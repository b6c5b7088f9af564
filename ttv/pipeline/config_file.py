"""ttv.toml as a file a person edits: written with what the user chose, edited in place with its comments.

`ttv init` writes only the settings the user gave (and the idea), followed by a commented reference of
every other setting with its built-in default and meaning. What the project does not set comes from the
user config (`ttv config path`) and then the built-in default, so a user-wide `fps = 30` or
`[stitch] crossfade = 0.5` applies to every project that is silent about it. Commands that change one
setting (`ttv keyframes --provider`) edit that one value with tomlkit, keeping the user's comments and
layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ttv.core.fsutil import atomic_write_text
from ttv.core.schemas import ProjectConfig, StitchConfig
from ttv.core.tomlio import dumps_toml, tomllib

HEADER = """\
# ttv project settings. Edit freely; `ttv config show` lists every value, its meaning and its source.
# Settings not written here come from your user config (`ttv config path`), then the built-in defaults
# (listed, commented out, at the end of this file). Unknown keys are errors.
"""

# Settings ttv itself fills in: not part of the commented reference.
_NOT_IN_REFERENCE = {"schema", "idea"}


def toml_literal(value: Any) -> str:
    """A value as it is written in TOML (`"keyframe"`, `true`, `[]`, `30.0`)."""
    if value is None:
        return ""
    if isinstance(value, dict) and not value:
        return "{}"
    return dumps_toml({"v": value}).strip().partition("=")[2].strip()


# Settings unset by default: the reference shows an example value instead of an empty one.
_EXAMPLES: dict[str, Any] = {"max_cost_usd": 20.0, "color_match": True, "segments": 6}


def _reference_line(key: str, default: Any, description: str) -> str:
    if default is None and key in _EXAMPLES:
        line = f"# {key} = {toml_literal(_EXAMPLES[key])}"
        description = f"(unset by default) {description}"
    else:
        line = f"# {key} = {toml_literal(default)}"
    return f"{line:<32} # {description}" if description else line


def _field_rows(model: type[BaseModel]) -> list[tuple[str, Any, str]]:
    rows = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        default = field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            continue  # a table: described on its own
        rows.append((key, default, field.description or ""))
    return rows


def reference_text(skip: set[str] | None = None) -> str:
    """Every setting with its built-in default and meaning, commented out."""
    skip = (skip or set()) | _NOT_IN_REFERENCE
    lines = ["", "# ---- every other setting, with its built-in default (uncomment to set it for this project) ----"]
    for key, default, description in _field_rows(ProjectConfig):
        if key in skip or isinstance(default, dict):
            continue
        lines.append(_reference_line(key, default, description))
    lines += ["#", "# [stitch]                       # " + (ProjectConfig.model_fields["stitch"].description or "")]
    for key, default, description in _field_rows(StitchConfig):
        lines.append(_reference_line(key, default, description))
    lines += ["#", "# [backends.runway]              # options of one backend: `ttv backends info runway`",
              '# model = "gen4_turbo"', "#", '# [prices]                       # USD overrides of the dated price table',
              '# "runway/gen4_turbo" = 0.05']
    return "\n".join(lines) + "\n"


def new_config_text(chosen: dict[str, Any]) -> str:
    """ttv.toml for `ttv init`: the header, the chosen settings, and the commented reference of the rest."""
    top = {k: v for k, v in chosen.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in chosen.items() if isinstance(v, dict)}
    body = dumps_toml({"schema": chosen.get("schema", 1), **{k: v for k, v in top.items() if k != "schema"}})
    if tables:
        body += "\n" + dumps_toml(tables)
    return HEADER + "\n" + body + reference_text(set(top) | set(tables))


def write_new_config(path: Path, chosen: dict[str, Any]) -> None:
    atomic_write_text(path, new_config_text(chosen))


def set_value(path: Path, key: str, value: Any) -> None:
    """Set one top-level key of ttv.toml in place; comments, order and layout stay as the user left them."""
    import tomlkit

    text = path.read_text(encoding="utf-8")
    document = tomlkit.parse(text)
    document[key] = value
    edited = tomlkit.dumps(document)
    # Belt and braces: the edit must change exactly that key, nothing else.
    before, after = tomllib.loads(text), tomllib.loads(edited)
    if after != {**before, key: value}:  # pragma: no cover - tomlkit guarantees this
        raise RuntimeError(f"editing {key} in {path} changed other settings")
    atomic_write_text(path, edited)


# ---- `ttv config show` -------------------------------------------------------------------------

def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _descriptions() -> dict[str, str]:
    out = {key: description for key, _default, description in _field_rows(ProjectConfig)}
    out.update({f"stitch.{key}": description for key, _default, description in _field_rows(StitchConfig)})
    return out


def settings_rows(project: Any) -> list[dict[str, Any]]:
    """Every setting of the project: key, value (the effective one), `shown` (as TOML, or what an unset or
    derived value means here), source (ttv.toml, user config, default) and what it means."""
    from ttv.core.tomlio import load_toml
    from ttv.core.userconfig import load_user_config, sources

    config: ProjectConfig = project.config
    where = sources(load_user_config(), load_toml(project.config_path))
    meaning = _descriptions()
    rows = []
    for key, value in _flatten(config.model_dump(by_alias=True)).items():
        shown = toml_literal(value) if value is not None else "(not set)"
        if key == "stitch.color_match" and value is None:
            on = config.stitch_color_match()
            shown = f"{'on' if on else 'off'} ({config.mode} mode; unset)"
        elif key == "duration" and config.segments is not None and value is not None:
            shown += f" (used with segments = {config.segments})"
        description = meaning.get(key, "")
        if not description and key.startswith("backends."):
            name = key.split(".")[1]
            description = f"option of the {name} backend (`ttv backends info {name}`)"
        elif not description and key.startswith("prices."):
            description = "USD price override (`ttv estimate` uses it)"
        rows.append({"key": key, "value": value, "shown": shown, "source": where.get(key, "default"),
                     "description": description})
    return rows
