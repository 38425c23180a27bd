"""The run executor: slots, start/cancel/pause/resume/retry, gates, recovery, the event log."""
