"""The built-in local model, which answers from retrieved passages and the demo tables."""

from agent.models.local.catalog import Catalog
from agent.models.local.model import LocalModel

__all__ = ["Catalog", "LocalModel"]
