"""Developer tools of the scopegraph repository (not shipped in the wheel)."""
