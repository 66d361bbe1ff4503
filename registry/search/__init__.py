"""Search: MLflow's filter and order_by grammar compiled to peewee expressions, and page tokens.

grammar holds what registry and tracking searches share; registry and tracking add their own
attributes. It may import the store (tables, database kind) and registry.errors, nothing above.
"""
