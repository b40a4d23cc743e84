"""The agent desk in the browser: agent accounts and sign-in, the inbox, the ticket, the stats."""
