"""Optional integrations with other engines (each needs its own extra)."""
