"""Artifacts: the store behind the artifact proxy, and the rules for a model version's source URI.

It may import registry.errors and the store; nothing above them.
"""
