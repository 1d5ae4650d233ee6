"""The gateway: the one entry point for web and mobile clients, and the owner of identity."""
