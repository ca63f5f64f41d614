"""The engine: git plumbing, the scan, the checkpoint format, restore, index state."""
