"""The web chat: the widget served by supportbot, and its HTTP API (`supportbot serve`)."""
