"""Clean photos with a timm classifier: score once, decide by any rule and threshold later."""
from pipeline.filter.decide import RULES, decide, evaluate, latest_scores
from pipeline.filter.model import CATALOGUE, IMAGENET, Classifier, load_classifier
from pipeline.filter.score import score
from pipeline.filter.train import train_classifier

__all__ = ["CATALOGUE", "Classifier", "IMAGENET", "RULES", "decide", "evaluate", "latest_scores", "load_classifier",
           "score", "train_classifier"]
