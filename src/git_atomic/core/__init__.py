"""The bottom layer: errors, the journal, the lock, the one door to subprocesses, configuration."""
