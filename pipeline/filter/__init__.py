"""Clean photos with a timm classifier: score once, decide by any rule and threshold later. (torch and timm are
imported where a model runs, so the CLI can read ``FilterSettings`` without them.)"""
from pipeline.filter.decide import RULES, decide, evaluate, latest_scores
from pipeline.filter.model import CATALOGUE, IMAGENET, Classifier, load_classifier
from pipeline.filter.score import score, score_shard
from pipeline.filter.settings import FilterSettings
from pipeline.filter.stage import filter_photos
from pipeline.filter.train import train_classifier

__all__ = ["CATALOGUE", "Classifier", "FilterSettings", "IMAGENET", "RULES", "decide", "evaluate", "filter_photos",
           "latest_scores", "load_classifier", "score", "score_shard", "train_classifier"]
