"""Tables of the clients service (database alias: see backoffice.databases)."""
