"""marshmallow schemas at the boundary: what a request may say and what a response says.
They may import the store's tables (for constants), artifacts.sources, hooks.events and errors."""
