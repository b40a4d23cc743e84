"""The agent desk in the browser: agent accounts and sign-in, the inbox, the ticket, the stats."""

# The inbox search's indexes belong to the store's tables: declared with the desk's models,
# as is the presence's table.
import supportbot.desk.presence
import supportbot.desk.search  # noqa: F401
