"""Developer tools that run from a checkout (not installed with the services)."""
