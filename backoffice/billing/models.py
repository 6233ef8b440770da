"""Tables of the billing service (database alias: see backoffice.databases)."""
