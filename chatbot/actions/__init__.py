"""The Rasa action server's actions (run with ``python -m rasa_sdk --actions chatbot.actions``)."""
