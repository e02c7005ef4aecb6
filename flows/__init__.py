"""Prefect flows, deployments and the CLI: the only package that imports prefect."""
