"""Rule documents → the compiled policy `decide()` reads. Every problem is reported at once."""

from .compiler import compile_documents, compile_with_diagnostics

__all__ = ["compile_documents", "compile_with_diagnostics"]
