"""The Django app of messaging (label ``messaging``): the outbox and inbox tables, writing to
the outbox, the database inbox and the outbox relay. Installed by the back office and the portal.
"""
