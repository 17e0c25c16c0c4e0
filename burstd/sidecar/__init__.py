"""XMP sidecars: what burstd owns in one (pure plans and packet edits) and the one place that reads and writes them."""
