"""Small shared utilities with no project dependencies: atomic file writes and folder walking (fileio), row
ids (ids), pinned third-party downloads (assets)."""
