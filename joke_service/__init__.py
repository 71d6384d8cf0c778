"""Ginette's joke service: random French and English jokes from a SQLite store."""
