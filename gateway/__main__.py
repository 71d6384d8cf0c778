from canaduck.cli import serve

serve(
    name="gateway",
    app_factory="gateway.main:create_app",
    default_port=8000,
    description="Canaduck gateway: GraphQL at /graphql, REST at /fullinfo, /weather, /joke.",
    access_log=False,  # the gateway logs one richer line per request itself
)
