"""The desk's words, French first then English, like `supportbot.texts`."""

from __future__ import annotations

from typing import Any

from supportbot.texts import in_language

TEXTS: dict[str, tuple[str, str]] = {
    # -- frame
    "desk": ("Bureau du Support", "Support desk"),
    "inbox": ("Boîte de réception", "Inbox"),
    "stats": ("Statistiques", "Statistics"),
    "sign_out": ("Se déconnecter", "Sign out"),
    "signed_in_as": ("Connecté : {name}", "Signed in: {name}"),
    "other_language": ("English", "Français"),
    # -- sign-in
    "sign_in": ("Connexion", "Sign in"),
    "sign_in_button": ("Se connecter", "Sign in"),
    "name": ("Nom d'agent", "Agent name"),
    "password": ("Mot de passe", "Password"),
    "bad_credentials": ("Nom ou mot de passe incorrect.", "Wrong name or password."),
    "throttled": (
        "Trop d'essais de connexion : réessayez dans un quart d'heure.",
        "Too many sign-in attempts: try again in a quarter of an hour.",
    ),
    "bad_form": (
        "Ce formulaire a expiré ou ne vient pas du bureau : rechargez la page et recommencez.",
        "This form expired or does not come from the desk: reload the page and try again.",
    ),
    # -- inbox
    "filters": ("Filtres", "Filters"),
    "status": ("Statut", "Status"),
    "status_open": ("Ouvertes", "Open"),
    "status_all": ("Toutes", "All"),
    "status_received": ("Reçue", "Received"),
    "status_info_requested": ("Informations demandées", "Information requested"),
    "status_solution_proposed": ("Solution proposée", "Solution proposed"),
    "status_closed": ("Clôturée", "Closed"),
    "mine": ("Les miennes", "Mine"),
    "unassigned": ("Non attribuées", "Unassigned"),
    "flow": ("Démarche", "Flow"),
    "any_flow": ("Toutes les démarches", "Every flow"),
    "search": ("Référence, n° de commande ou e-mail", "Reference, order number or e-mail"),
    "apply": ("Afficher", "Show"),
    "no_tickets": ("Aucune demande.", "No tickets."),
    "reference": ("Référence", "Reference"),
    "subject": ("Objet", "Subject"),
    "customer": ("Client", "Customer"),
    "due": ("Échéance", "Due"),
    "taken_by": ("Pris par", "Taken by"),
    "nobody": ("personne", "nobody"),
    "marks": ("Repères", "Marks"),
    "overdue": ("En retard", "Overdue"),
    "customer_last": ("Le client a écrit en dernier", "The customer wrote last"),
    "shortcuts": (
        "Clavier : j / k demande suivante / précédente, Entrée pour l'ouvrir, r pour y répondre, "
        "t pour la prendre ; sur une demande, r pour répondre, t pour la prendre.",
        "Keyboard: j / k next / previous ticket, Enter to open it, r to reply to it, t to take "
        "it; on a ticket, r to reply, t to take it.",
    ),
    "take_ticket": ("Prendre {ref}", "Take {ref}"),
    "take_column": ("Action", "Action"),
    "live_label": ("Nouveautés", "What's new"),
    "news_created": ("Nouvelle demande {ref} : {subject}", "New ticket {ref}: {subject}"),
    "news_customer_message": (
        "Nouveau message du client sur {ref} : {subject}",
        "New message from the customer on {ref}: {subject}",
    ),
    "news_merged": (
        "Nouvelle demande ajoutée à {ref} : {subject}",
        "New request added to {ref}: {subject}",
    ),
    "fresh": ("nouveau", "new"),
    "news_outside_one": (
        "1 nouveauté hors de votre filtre",
        "1 new update outside your filter",
    ),
    "news_outside_many": (
        "{count} nouveautés hors de votre filtre",
        "{count} new updates outside your filter",
    ),
    # -- ticket
    "category": ("Catégorie", "Category"),
    "priority": ("Priorité", "Priority"),
    "order": ("Commande", "Order"),
    "language": ("Langue du client", "Customer's language"),
    "fields": ("Réponses du client", "The customer's answers"),
    "attachments": ("Pièces jointes", "Attachments"),
    "conversation": ("Conversation et historique", "Conversation and history"),
    "actions": ("Actions", "Actions"),
    "take": ("Prendre", "Take"),
    "reply": ("Répondre", "Reply"),
    "ask": ("Demander des informations", "Ask for information"),
    "propose": ("Proposer une solution", "Propose a solution"),
    "close": ("Clôturer", "Close"),
    "note": ("Note interne", "Internal note"),
    "message": ("Message", "Message"),
    "send": ("Envoyer", "Send"),
    "templates": ("Modèles de réponse", "Reply templates"),
    "preview": ("Aperçu", "Preview"),
    "template_preview": (
        "Aperçu du modèle « {name} » dans la langue du client ({language}) :",
        'Preview of the template "{name}" in the customer\'s language ({language}):',
    ),
    "template_closes": ("L'envoi clôture la demande.", "Sending it closes the ticket."),
    "back": ("Retour", "Back"),
    "done": ("C'est fait.", "Done."),
    "repeated": (
        "Déjà fait : ce formulaire avait déjà été envoyé, rien n'a été refait.",
        "Already done: this form had already been sent, nothing was done again.",
    ),
    "stale": (
        "La demande a changé depuis l'ouverture de la page (nouveau message ou action d'un "
        "collègue) : rien n'a été envoyé. Lisez ce qui a changé ; votre texte est conservé "
        "ci-dessous.",
        "The ticket changed since this page was opened (a new message or a colleague's "
        "action): nothing was sent. Read what changed; your text is kept below.",
    ),
    "empty_text": ("Le message est vide.", "The message is empty."),
    "not_found": ("Cette demande n'existe pas.", "There is no such ticket."),
    "event_created": ("Demande", "Request"),
    "event_customer_message": ("Client", "Customer"),
    "event_merged": ("Demande ajoutée", "Request added"),
    "event_agent_message": ("{author} (agent)", "{author} (agent)"),
    "event_note": ("Note interne de {author}", "Internal note by {author}"),
    "event_status": ("Statut changé par {author}", "Status changed by {author}"),
    "event_rating": ("Note du client", "Customer's rating"),
    "event_job": ("Tâche automatique", "Automatic job"),
    "actor_customer": ("le client", "the customer"),
    "actor_bot": ("le bot", "the bot"),
    "took_taken": ("Demande prise en charge.", "Ticket taken."),
    "took_again": ("Demande déjà prise en charge par cet agent.", "Ticket already theirs."),
    "took_over": ("Demande reprise à {name}.", "Ticket taken over from {name}."),
    "job_interim": (
        "Message d'attente envoyé au client avant l'échéance",
        "Interim message sent to the customer before the due time",
    ),
    "job_overdue": ("Échéance dépassée : agents prévenus", "Past due: agents alerted"),
    "job_info_reminder": (
        "Relance du client pour les informations demandées",
        "Customer reminded of the information asked",
    ),
    "job_auto_close": (
        "Clôture automatique : solution restée sans réponse",
        "Closed automatically: the proposed solution was not answered",
    ),
    "refused_transition": (
        "Refusé : cette action n'est pas possible au statut actuel de la demande.",
        "Refused: this action is not possible at the ticket's current status.",
    ),
    "refused_erased": (
        "Refusé : le client a effacé ses données, plus rien ne peut lui être envoyé.",
        "Refused: the customer erased their data, nothing can be sent to them any more.",
    ),
    "refused_template": ("Refusé : ce modèle n'existe pas.", "Refused: there is no such template."),
    "refused_key": (
        "Refusé : ce formulaire a déjà servi à une autre action. Rechargez la page.",
        "Refused: this form was already used for another action. Reload the page.",
    ),
    "created_at": ("Ouverte le", "Opened on"),
    "channel": ("Canal", "Channel"),
    "channel_web": ("Chat du site", "Website chat"),
    "channel_telegram": ("Telegram", "Telegram"),
    "channel_terminal": ("Console", "Console"),
    "customer_unnamed": ("Visiteur {id}", "Visitor {id}"),
    "customer_erased": ("Client (données effacées)", "Customer (data erased)"),
    "field_order_number": ("Numéro de commande", "Order number"),
    "language_fr": ("Français", "French"),
    "language_en": ("Anglais", "English"),
    "category_order": ("Commande", "Order"),
    "category_return": ("Retour et remboursement", "Return and refund"),
    "category_dispute": ("Litige", "Dispute"),
    "category_seller": ("Vendeur sans réponse", "Unresponsive seller"),
    "category_security": ("Sécurité du compte", "Account security"),
    "category_gdpr": ("Données personnelles (RGPD)", "Personal data (GDPR)"),
    "category_human": ("Demande de conseiller", "Request for a person"),
    "category_other": ("Autre demande", "Other request"),
    "priority_low": ("Basse", "Low"),
    "priority_normal": ("Normale", "Normal"),
    "priority_high": ("Haute", "High"),
    "priority_urgent": ("Urgente", "Urgent"),
    "presence_viewing": ("{name} consulte cette demande", "{name} is viewing this ticket"),
    "presence_writing": ("{name} est en train d'écrire", "{name} is writing"),
    "changed_live": (
        "Cette demande a changé depuis l'ouverture de la page (voir ci-dessous) : une action "
        "envoyée maintenant serait refusée. Rechargez la page avant d'agir ; vos brouillons "
        "sont gardés.",
        "This ticket changed since the page was opened (see below): an action sent now would "
        "be refused. Reload the page before acting; your drafts are kept.",
    ),
    "reload": ("Recharger la page", "Reload the page"),
    "version_note": (
        "Page ouverte à la version {version} de la demande.",
        "Page opened at version {version} of the ticket.",
    ),
    # -- stats
    "period": ("Période", "Period"),
    "since": ("Depuis", "Since"),
    "until": ("Jusqu'au (exclu)", "Until (excluded)"),
    "by": ("Par", "By"),
    "by_day": ("jour", "day"),
    "by_week": ("semaine", "week"),
    "download_csv": ("Télécharger en CSV", "Download as CSV"),
    "opened_closed": ("Demandes ouvertes et clôturées", "Tickets opened and closed"),
    "opened": ("Ouvertes", "Opened"),
    "closed": ("Clôturées", "Closed"),
    "answered": ("Réponses sans demande", "Answered without a ticket"),
    "deflection": ("Résolution sans demande", "Deflection"),
    "first_response": (
        "Première réponse d'un agent (heures ouvrées)",
        "First response by an agent (business hours)",
    ),
    "median": ("Médiane (h)", "Median (h)"),
    "p90": ("90e centile (h)", "90th percentile (h)"),
    "within_sla": ("Dans les {hours:g} h", "Within {hours:g} h"),
    "awaiting": ("Sans réponse encore", "Not answered yet"),
    "time_to_close": (
        "Délai de clôture (heures ouvrées)",
        "Time to close (business hours)",
    ),
    "ratings": ("Notes des clients", "Customers' ratings"),
    "rating": ("Note", "Rating"),
    "count": ("Nombre", "Count"),
    "tickets": ("Demandes", "Tickets"),
    "drop_off": ("Abandons par étape", "Drop-off by step"),
    "step": ("Étape", "Step"),
    "runs": ("Parcours", "Runs"),
    "faq_gaps": ("Questions sans réponse (FAQ à compléter)", "Unanswered questions (FAQ gaps)"),
    "example": ("Exemple", "Example"),
    "start": ("Début", "Start"),
    "none_yet": ("Rien sur cette période.", "Nothing in this period."),
    "gap_groups": (
        "Questions à ajouter à la FAQ (groupes de `supportbot faq gaps`)",
        "Questions to add to the FAQ (groups of `supportbot faq gaps`)",
    ),
    "gap_groups_since": (
        "Questions sans réponse et réponses jugées inutiles (👎) depuis le {since}, "
        "regroupées par ressemblance.",
        "Unanswered questions and answers found unhelpful (👎) since {since}, grouped by likeness.",
    ),
    "gap_groups_all": (
        "Questions sans réponse et réponses jugées inutiles (👎), regroupées par ressemblance.",
        "Unanswered questions and answers found unhelpful (👎), grouped by likeness.",
    ),
    "group": ("Groupe", "Group"),
    "questions": ("Questions", "Questions"),
    "unanswered": ("Sans réponse", "Unanswered"),
    "thumbs_down": ("👎", "👎"),
    "examples": ("Exemples", "Examples"),
    "nearest": ("Entrée la plus proche", "Nearest entry"),
    "draft": ("Brouillon", "Draft"),
    "write_draft": ("Écrire le brouillon", "Write the draft"),
    "write_draft_of": (
        "Écrire le brouillon du groupe {number}",
        "Write the draft of group {number}",
    ),
    "admin_only": (
        "Réservé aux administrateurs (supportbot agents add NOM --admin).",
        "For administrators only (supportbot agents add NAME --admin).",
    ),
    "drafted": (
        "Brouillon écrit : {path}. Il n'est jamais servi : relisez-le, écrivez la réponse, "
        "puis déplacez l'entrée dans un fichier faq/<thème>.yaml.",
        "Draft written: {path}. It is never served: review it, write the answer, then move "
        "the entry into a faq/<theme>.yaml file.",
    ),
    "gaps_changed": (
        "Les groupes ont changé depuis l'affichage de la page (nouvelles questions) : rien "
        "n'a été écrit. Vérifiez le groupe ci-dessous et recommencez.",
        "The groups changed since the page was shown (new questions): nothing was written. "
        "Check the group below and try again.",
    ),
}


def say(lang: str, key: str, **values: Any) -> str:
    """The desk's text for ``key`` in ``lang`` (French unless English), filled with ``values``."""
    return in_language(TEXTS[key], lang, **values)


def catalog_word(lang: str, group: str, value: str) -> str:
    """A stored value (a priority, a category) by its word in ``lang``; as stored when the
    catalog has none (a category a new flow brings)."""
    key = f"{group}_{value}"
    return say(lang, key) if key in TEXTS else value
