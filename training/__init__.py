"""Decentralized training over label-skewed partitions; reads the export manifest, never the pipeline."""
