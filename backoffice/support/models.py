"""Tables of the support service (database alias: see backoffice.services)."""
