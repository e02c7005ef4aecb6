"""Crawl Flickr (or the offline service) for each class's geotagged photos into the catalog."""
from pipeline.crawl.client import FLICKR_REST_URL, FlickrClient, InvalidKey
from pipeline.crawl.credentials import Credentials, load_credentials
from pipeline.crawl.runs import crawl, crawl_class, finish_run, prepare, start_run, upload_range
from pipeline.crawl.settings import CrawlSettings

__all__ = ["CrawlSettings", "Credentials", "FLICKR_REST_URL", "FlickrClient", "InvalidKey", "crawl", "crawl_class",
           "finish_run", "load_credentials", "prepare", "start_run", "upload_range"]
