"""gunicorn entry point: ``gunicorn -c registry/gunicorn_conf.py wsgi:app``."""

from registry import create_app

app = create_app()
