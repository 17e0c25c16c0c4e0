"""Everything about darktable that is not a sidecar: its lock, its library, its config folder."""
