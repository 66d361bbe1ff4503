"""Artifacts: the stores behind the artifact proxy, and the rules for a model version's source URI.

paths (what a client may name), interface (what every store implements), store (which store
PODIUM_ARTIFACTS_DESTINATION names), local and s3 (the stores), sources (version sources).
It may import registry.errors and the store; nothing above them.
"""
