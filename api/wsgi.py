"""The WSGI entry point for gunicorn: imported in each worker after the fork
(no preload), against a store the master already prepared."""

from api import create_app

app = create_app(create_tables=False)
