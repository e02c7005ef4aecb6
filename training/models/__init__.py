"""Model registry; importing this package registers every model."""
from training.models import lenet  # noqa: F401  (registers the LeNet family)
from training.models.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
