"""`ttv chain`: chaining mode, each clip starts from the previous clip's exact last frame -> clips/."""

from ttv.commands.render import make_clips_command

chain_command = make_clips_command(
    "chain",
    "Chaining mode: render segments in order, each from the previous clip's exact last frame.\n\n"
    "Redoing one segment makes every later one stale (its start frame changes).\n\n"
    "Examples:\n\n\b\n"
    "  ttv chain                           # every missing or stale clip, in order\n"
    "  ttv chain --dry-run                 # what would run, why, and its cost\n"
    "  ttv chain --on-error keep-going     # later segments wait for a failed one; others finish",
)
