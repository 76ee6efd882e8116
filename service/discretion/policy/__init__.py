"""The authored policy: the JSON Schema of rule files, and loading them into checked documents."""

from .load import Document, load_documents, schema

__all__ = ["Document", "load_documents", "schema"]
