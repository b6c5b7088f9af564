"""Turn pydantic validation errors into one message naming the file, the key and the fix."""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any

from pydantic import BaseModel, ValidationError


def _fields_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """Known keys of the (nested) model at `loc`, for did-you-mean hints."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        try:
            field = current.model_fields.get(part)
        except AttributeError:
            return []
        if field is None:
            return []
        ann = field.annotation
        current = None
        for cand in (ann, *getattr(ann, "__args__", ())):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                current = cand
                break
            for inner in getattr(cand, "__args__", ()):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    current = inner
    if current is None:
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _loc_str(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def describe_validation_error(exc: ValidationError, filename: str, model: type[BaseModel] | None = None,
                              context: dict[str, Any] | None = None) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        key = _loc_str(loc)
        if key.endswith("schema_"):
            key = key[: -len("schema_")] + "schema"
        if err["type"] == "extra_forbidden":
            known = _fields_at(model, loc[:-1])
            close = get_close_matches(str(loc[-1]), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else (f"; known keys: {', '.join(known)}" if known else "")
            lines.append(f"{filename}: unknown key {key!r}{hint}")
        elif err["type"] == "missing":
            lines.append(f"{filename}: {key}: required key is missing")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            given = err.get("input")
            shown = "" if isinstance(given, (dict, list)) else f" (got {given!r})"
            # Name the entry a list index points at (e.g. segments[2] -> id "s002").
            if context and loc and loc[0] in context and len(loc) > 1 and isinstance(loc[1], int):
                try:
                    ident = context[loc[0]][loc[1]].get("id")
                    if ident:
                        key = _loc_str(loc[:2]) + f" (id {ident!r})" + ("." + _loc_str(loc[2:]) if loc[2:] else "")
                except (IndexError, AttributeError, TypeError):
                    pass
            where = f"{filename}: {key}: " if loc else f"{filename}: "
            lines.append(f"{where}{msg}{shown}")
    return "\n".join(lines)
