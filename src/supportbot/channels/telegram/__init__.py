"""The Telegram channel: customers in private chats (customers, outbound, media), agents in
a forum supergroup (topics, templates, notices), the wiring and serving (app), updates
kept and ordered (order, store), and the channel's texts."""
