"""Finding rule files, holding the policy in force, and swapping in a new one safely."""

from .files import compile_directory, find_rule_files, read_rule_files, revision_of
from .holder import PolicyHolder, PolicyStatus

__all__ = ["PolicyHolder", "PolicyStatus", "compile_directory", "find_rule_files", "read_rule_files", "revision_of"]
