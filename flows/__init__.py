"""Prefect flows, deployments and the CLI: the only package that imports prefect."""
from flows.engine import configure

configure()
