"""Flask blueprints: the JSON API and the WebSocket broadcaster."""
