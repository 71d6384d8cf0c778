"""The Canaduck weather service: current weather for a city, by name, in French or English."""
