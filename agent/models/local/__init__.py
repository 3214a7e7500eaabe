"""The built-in local model and its data."""

from agent.models.local.catalog import Catalog
from agent.models.local.knowledge import KnowledgeBase, load_articles
from agent.models.local.model import LocalModel

__all__ = ["Catalog", "KnowledgeBase", "LocalModel", "load_articles"]
