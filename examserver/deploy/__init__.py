"""Deployment helpers: the nginx configuration for the scaled profile (``skillcert nginx-config``)."""
