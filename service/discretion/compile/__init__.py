"""Rule documents → the compiled form (discretion.ir) and the policy `decide()` reads. Every problem is reported at once."""

from .compiler import compile_documents, compile_with_diagnostics, lower_documents

__all__ = ["compile_documents", "compile_with_diagnostics", "lower_documents"]
