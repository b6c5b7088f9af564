"""The Textual dashboard behind `ttv monitor` (optional extra `ttv[tui]`).

`ttv.tui.state` is plain Python (no Textual); `ttv.tui.app` needs textual and is imported only when
the dashboard starts. The dashboard reads the project and never writes to it.
"""
