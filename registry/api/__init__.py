"""The HTTP API: one blueprint per area. A view loads input with a schema, calls one service and
dumps the result; it never opens a transaction. It may import any room below it."""
