"""The Canaduck gateway: one GraphQL schema and thin REST routes over the REST services."""
