"""Pieces the three Canaduck services share: input rules, problem responses, the CLI."""
