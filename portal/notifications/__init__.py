"""Live notifications: Kafka events → handlers → the channel layer → each user's WebSockets."""
