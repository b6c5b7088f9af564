"""Regenerate completions/ttv.{bash,zsh,fish} from the CLI (a test fails when they drift)."""

from pathlib import Path

from ttv.completions import SHELLS, generate

out = Path(__file__).resolve().parents[1] / "completions"
out.mkdir(exist_ok=True)
for shell in SHELLS:
    (out / f"ttv.{shell}").write_text(generate(shell))
    print(f"wrote {out / f'ttv.{shell}'}")
