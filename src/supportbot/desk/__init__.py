"""The agent desk in the browser: agent accounts and sign-in, the inbox, the ticket, the stats."""

# The inbox search's indexes belong to the store's tables: declared with the desk's models.
import supportbot.desk.search  # noqa: F401
