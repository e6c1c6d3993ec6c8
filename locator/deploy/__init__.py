"""Deployment files shipped with the package: the nginx configuration in front of gunicorn."""
