"""Fixtures in the style of Flask's flaskr: a store, the application, the
Flask app, its test client, and the CLI runner."""
