"""Model registry; importing this package registers every model."""
from training.models import alexnet, googlenet, lenet, resnet, timm_wrapper  # noqa: F401  (registers each family)
from training.models.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
