"""burstd's SQLite database: the only package that speaks SQL."""
