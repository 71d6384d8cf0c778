"""``python -m weather_service [--host 127.0.0.1] [--port 8001]``."""

from canaduck.cli import serve

if __name__ == "__main__":
    serve(
        name="weather_service",
        app_factory="weather_service.main:create_app",
        default_port=8001,
        description="Canaduck weather service: GET /weather?city=Rodez (configured by WEATHER_* "
        "environment variables).",
    )
