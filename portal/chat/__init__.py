"""Live support chat: subscriber conversations, the bridge to the Rasa bot, the agent console."""
