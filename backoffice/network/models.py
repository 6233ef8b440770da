"""Tables of the network service (database alias: see backoffice.services)."""
