"""The words only the Telegram channel says: agent-topic notices and the command list.

French first, English second, like `supportbot.texts` (candidates to move there).
"""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, tuple[str, str]] = {
    # -- customers
    "technical_error": (
        "Désolé, un problème technique m'empêche de répondre. Réessayez dans un instant, "
        "ou tapez /menu.",
        "Sorry, a technical problem prevents me from answering. Try again in a moment, "
        "or type /menu.",
    ),
    "cmd_start": ("Commencer", "Start"),
    "cmd_menu": ("Les sujets d'aide", "Help topics"),
    "cmd_help": ("Comment m'utiliser", "How to use me"),
    "cmd_agent": ("Parler à un conseiller", "Talk to a person"),
    "cmd_tickets": ("Mes demandes", "My requests"),
    "cmd_cancel": ("Annuler la démarche en cours", "Cancel the current request"),
    "cmd_lang": ("Changer de langue", "Change language"),
    # -- agents, in the ticket's topic
    "btn_take": ("Prendre", "Take"),
    "btn_ask": ("Demander des infos", "Ask for information"),
    "btn_propose": ("Proposer une solution", "Propose a solution"),
    "btn_close": ("Clôturer", "Close"),
    "btn_templates": ("Modèles", "Templates"),
    "card_footer": ("Statut : {status} · Échéance : {due}", "Status: {status} · Due: {due}"),
    "card_rebuilt": (
        "Sujet recréé (l'ancien a été supprimé).",
        "Topic created again (the previous one was deleted).",
    ),
    "card_history": ("Derniers échanges :", "Latest exchanges:"),
    "taken": ("Pris en charge par {agent}.", "Taken by {agent}."),
    "asked": (
        "Demande d'informations envoyée au client.",
        "Request for information sent to the customer.",
    ),
    "proposed": ("Solution proposée au client.", "Solution proposed to the customer."),
    "closed": ("Ticket clôturé, client prévenu.", "Ticket closed, customer told."),
    "noted": ("Note interne enregistrée (invisible du client).", "Internal note saved."),
    "needs_text": (
        "Ajoutez le texte après la commande, par exemple : /{command} {example}",
        "Add the text after the command, for example: /{command} {example}",
    ),
    "example_ask": ("Pouvez-vous envoyer une photo du colis ?", "Could you send a photo?"),
    "example_propose": ("Le vendeur renvoie l'article.", "The seller sends the item again."),
    "example_note": ("Vendeur relancé par e-mail.", "Seller chased by e-mail."),
    "use_command": (
        "Écrivez /{command} suivi de votre texte dans ce sujet.",
        "Type /{command} followed by your text in this topic.",
    ),
    "action_refused": ("Action impossible : {reason}", "Action refused: {reason}"),
    "no_ticket": (
        "Aucun ticket n'est lié à ce sujet.",
        "No ticket is linked to this topic.",
    ),
    "customer_blocked": (
        "Client injoignable : il a bloqué le bot. Le message est conservé dans le ticket "
        "et lui sera remis s'il revient.",
        "Customer unreachable: they blocked the bot. The message is kept in the ticket and "
        "will be delivered if they come back.",
    ),
    "customer_waiting": (
        "Client injoignable pour l'instant : le message lui sera remis à son retour.",
        "Customer unreachable for now: the message will be delivered when they come back.",
    ),
    "files_not_forwarded": (
        "(Pièces jointes non transmises ici : voir le ticket.)",
        "(Attachments could not be shown here: see the ticket.)",
    ),
    # -- agents, reply templates
    "templates_list": (
        "Modèles de réponse (/reply NOM pour prévisualiser) :",
        "Reply templates (/reply NAME to preview):",
    ),
    "templates_none": (
        "Aucun modèle de réponse : ajoutez-en dans replies/*.yaml.",
        "No reply templates: add some in replies/*.yaml.",
    ),
    "template_unknown": ("Modèle inconnu : {name}.", "Unknown template: {name}."),
    "template_preview": (
        "Aperçu de « {title} », en {language}, pas encore envoyé :",
        'Preview of "{title}", in {language}, not sent yet:',
    ),
    "template_closes": (
        "L'envoyer clôturera la demande.",
        "Sending it will close the request.",
    ),
    "template_sent": ("Envoyé au client par {agent} :", "Sent to the customer by {agent}:"),
    "template_cancelled": (
        "Aperçu annulé par {agent} : rien n'a été envoyé au client.",
        "Preview cancelled by {agent}: nothing was sent to the customer.",
    ),
    "template_done_already": ("Cet aperçu a déjà été traité.", "This preview was already handled."),
    "template_expired": (
        "Bouton expiré : tapez /replies dans le sujet.",
        "This button has expired: type /replies in the topic.",
    ),
    "btn_send": ("Envoyer", "Send"),
    "btn_cancel": ("Annuler", "Cancel"),
    "lang_fr": ("français", "French"),
    "lang_en": ("anglais", "English"),
}

COMMAND_KEYS = ("start", "menu", "help", "agent", "tickets", "cancel", "lang")


def say(lang: str, key: str, **values: Any) -> str:
    """The text for ``key`` in ``lang`` (French unless English), filled with ``values``."""
    fr, en = TEXTS[key]
    template = en if lang == "en" else fr
    return template.format(**values) if values else template
