"""Tools for policy authors, over the compiled policy: test coverage, explanations, the agreement
matrix and the impact of a change. The `discretion` command is a thin adapter over these.
"""
