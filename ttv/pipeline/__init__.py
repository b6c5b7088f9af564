"""The run: project folder, staleness, runner and executors, requests, steps, planning, estimate, jobs, doctor.

This floor sits on `ttv.backends` and `ttv.core`; `ttv.commands` sits on it."""
