"""Dataset construction stages (sim, crawl, download, filter, geocode, release, export); they meet in the catalog."""
