"""The domain: each public function is one transaction over the store. Services may import the
store, search, artifacts and hooks (outbox, signals, events); never the API or Flask's request."""
