"""`burstd undo`: the pure plan of what to put back, and carrying it out."""
