from canaduck.cli import serve

if __name__ == "__main__":
    serve(
        name="joke_service",
        app_factory="joke_service.main:create_app",
        default_port=8002,
        description="Canaduck joke service: GET /joke?lang=fr|en and GET /jokes/{id}.",
    )
