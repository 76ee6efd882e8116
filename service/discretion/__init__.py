"""Discretion: a policy engine for community norms.

Groups write their agreement (the Chatham House Rule, TLP, "nothing leaves
this group") as YAML rules; Discretion compiles them and answers whether a
share, a quote or an export is allowed, with the obligations it carries.
"""

__version__ = "0.1.0"
