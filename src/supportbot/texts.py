"""The bot's own interface texts, French first then English, in one catalogue.

Customer-facing answers live in the YAML content; only the words of the bot's
interface (menus, refusals, confirmations) live here.
"""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, tuple[str, str]] = {
    # -- greeting and navigation
    "welcome": (
        "Bonjour{name} ! Je suis l'assistant du Support 3DWorksPrints. Posez votre question "
        "avec vos mots, ou choisissez un sujet ci-dessous.",
        "Hello{name}! I am the 3DWorksPrints Support assistant. Ask your question in your own "
        "words, or pick a topic below.",
    ),
    "menu": ("Choisissez un sujet :", "Pick a topic:"),
    "theme_menu": ("{theme} : que voulez-vous savoir ?", "{theme}: what would you like to know?"),
    "help": (
        "Écrivez votre question comme elle vient (« où est ma facture », « retour colis »...).\n"
        "Commandes : /menu (les sujets), /agent (parler à un humain), /tickets (vos demandes), "
        "/cancel (annuler la démarche en cours), /lang (changer de langue), /mydata (vos "
        "données), /forget (les effacer), /help (cette aide).\n"
        "Pendant une démarche : « question précédente » revient en arrière, « passer » saute "
        "une question facultative, « annuler » arrête tout.",
        'Type your question as it comes ("where is my invoice", "return parcel"...).\n'
        "Commands: /menu (topics), /agent (talk to a human), /tickets (your requests), "
        "/cancel (stop the current request), /lang (change language), /mydata (your data), "
        "/forget (erase it), /help (this help).\n"
        'During a request: "previous question" goes back one step, "skip" skips an '
        'optional question, "cancel" stops everything.',
    ),
    "lang_set": ("D'accord, je vous réponds en français.", "OK, I will answer in English."),
    "lang_choose": ("Choisissez votre langue :", "Choose your language:"),
    "prefilled": (
        "J'ai noté « {label} » : {value} (« question précédente » pour le corriger).",
        'I noted "{label}": {value} ("previous question" to change it).',
    ),
    "text_expected": (
        "Il me faut ici quelques mots de votre part : {label}.",
        "I need a few words from you here: {label}.",
    ),
    "facts_kept": (
        "C'est noté pour la suite ({labels}). D'abord, cette question :",
        "Noted for later ({labels}). First, this question:",
    ),
    "corrected": (
        "C'est corrigé : « {label} » : {value}.",
        'Corrected: "{label}": {value}.',
    ),
    "flow_continue": ("Reprenons votre demande là où nous en étions :", "Back to your request:"),
    "acknowledged": (
        "Avec plaisir ! Je reste là si vous avez une autre question.",
        "You are welcome! I am here if you have another question.",
    ),
    "noted": (
        "Très bien. Je reste là si vous avez une autre question.",
        "All right. I am here if you have another question.",
    ),
    "order_named_offer": (
        "Je ne suis pas sûr d'avoir compris votre demande sur la commande {order}, et je "
        "préfère ne pas répondre au hasard. S'il y a un problème avec cette commande, je peux "
        "le signaler au Support avec vous ; sinon, reformulez, parcourez les sujets ou parlez "
        "à un humain.",
        "I am not sure I understood your request about order {order}, and I would rather not "
        "answer at random. If something is wrong with this order, I can report it to Support "
        "with you; otherwise, rephrase, browse the topics or talk to a human.",
    ),
    "not_understood": (
        "Je ne suis pas sûr d'avoir compris, et je préfère ne pas répondre au hasard. "
        "Vous pouvez reformuler, parcourir les sujets, ouvrir une demande ou parler à un humain.",
        "I am not sure I understood, and I would rather not answer at random. "
        "You can rephrase, browse the topics, open a request or talk to a human.",
    ),
    "out_of_scope": (
        "Je n'ai pas de réponse fiable à cette question : elle sort de ce que couvre le "
        "Support (par exemple les frais de livraison, la vente sur la plateforme, les "
        "promotions). Pour un souci sur une commande, ouvrez une demande ; un conseiller "
        "peut aussi vous orienter.",
        "I have no reliable answer to that: it is outside what Support covers (shipping "
        "prices, selling on the platform, promotions, for example). For a problem with an "
        "order, open a request; an agent can also point you in the right direction.",
    ),
    "displeased": (
        "Je suis désolé que votre expérience ne soit pas bonne. Dites-moi en quelques mots ce "
        "qui ne va pas, ou demandez un conseiller : il reprendra votre situation.",
        "I am sorry your experience is not a good one. Tell me in a few words what is wrong, "
        "or ask for an agent: they will look into your situation.",
    ),
    "about_bot": (
        "Je suis l'assistant automatique du Support 3DWorksPrints : je réponds aux questions "
        "courantes et je prépare vos demandes. Un conseiller humain peut prendre le relais à "
        "tout moment.",
        "I am the 3DWorksPrints Support's automated assistant: I answer common questions "
        "and prepare your requests. A human agent can take over at any time.",
    ),
    "did_you_mean": ("Vous voulez dire :", "Did you mean:"),
    "empty_message": (
        "Je n'ai reçu aucun texte. Écrivez votre question, ou tapez /menu.",
        "I received no text. Type your question, or /menu.",
    ),
    "too_long": (
        "Votre message est très long ({length} caractères) : je n'en lis que le début. "
        "Pour un long récit, ouvrez plutôt une demande.",
        "Your message is very long ({length} characters): I only read its beginning. "
        "For a long story, open a request instead.",
    ),
    "unknown_command": (
        "Je ne connais pas la commande {command}. Tapez /help pour la liste.",
        "I do not know the command {command}. Type /help for the list.",
    ),
    "stale_button": (
        "Ce bouton ne correspond plus à rien en cours. Voici le menu.",
        "That button no longer matches anything in progress. Here is the menu.",
    ),
    "related_intro": ("Voir aussi :", "See also:"),
    # -- buttons
    "btn_menu": ("Menu", "Menu"),
    "btn_ticket": ("Ouvrir une demande", "Open a request"),
    "btn_human": ("Parler à un humain", "Talk to a human"),
    "btn_none": ("Aucun des deux", "Neither"),
    "btn_yes": ("Oui", "Yes"),
    "btn_no": ("Non", "No"),
    "btn_skip": ("Passer", "Skip"),
    "btn_back": ("Question précédente", "Previous question"),
    "btn_cancel": ("Annuler", "Cancel"),
    "btn_done": ("Terminé", "Done"),
    "btn_confirm": ("Confirmer et envoyer", "Confirm and send"),
    "btn_start_flow": ("Démarrer : {title}", "Start: {title}"),
    "btn_resume": ("Reprendre", "Resume"),
    "btn_helpful": ("👍 Utile", "👍 Helpful"),
    "btn_not_helpful": ("👎 Pas utile", "👎 Not helpful"),
    # -- flows
    "flow_unavailable": (
        "La démarche « {title} » n'est pas encore disponible ici. Vous pouvez ouvrir une "
        "demande générale ou parler à un humain.",
        'The "{title}" request is not available here yet. You can open a general request '
        "or talk to a human.",
    ),
    "flow_start": (
        "{title} : je vais vous poser quelques questions, une à la fois. "
        "« question précédente » pour revenir en arrière, « annuler » pour arrêter.",
        "{title}: I will ask you a few questions, one at a time. "
        '"previous question" to go back, "cancel" to stop.',
    ),
    "flow_resume": (
        "Reprenons votre démarche « {title} » là où nous en étions.",
        'Let\'s pick up your "{title}" request where we left off.',
    ),
    "flow_busy": (
        "Vous êtes en pleine démarche « {title} ». Voulez-vous la reprendre ou l'annuler ?",
        'You are in the middle of the "{title}" request. Resume it or cancel it?',
    ),
    "flow_cancelled": (
        "C'est annulé, rien n'a été envoyé. Je reste là si besoin.",
        "Cancelled, nothing was sent. I am here if you need me.",
    ),
    "nothing_to_cancel": ("Il n'y a rien à annuler.", "There is nothing to cancel."),
    "requests_menu": ("Quel type de demande ?", "What kind of request?"),
    "nothing_in_progress": (
        "Aucune demande n'est en cours. Que puis-je faire pour vous ?",
        "No request is in progress. What can I do for you?",
    ),
    "optional_hint": (
        "(facultatif : « passer » pour sauter)",
        '(optional: "skip" to skip)',
    ),
    "cannot_skip": (
        "Cette information est nécessaire pour traiter votre demande.",
        "This information is needed to handle your request.",
    ),
    "at_first_step": (
        "C'est déjà la première question.",
        "This is already the first question.",
    ),
    "summary_title": (
        "Récapitulatif de votre demande « {title} » :",
        'Summary of your "{title}" request:',
    ),
    "summary_confirm": (
        "Tout est correct ? Confirmez pour l'envoyer, ou « corriger » pour changer une réponse.",
        'Is everything right? Confirm to send it, or "fix" to change an answer.',
    ),
    "confirm_expected": (
        "Répondez « confirmer » pour envoyer la demande, « corriger » pour changer une réponse, "
        "ou « annuler ».",
        'Answer "confirm" to send the request, "fix" to change an answer, or "cancel".',
    ),
    "skipped": ("(non renseigné)", "(not given)"),
    "files_count": ("{count} fichier(s)", "{count} file(s)"),
    "ticket_created": (
        "Votre demande est enregistrée sous la référence {ref}. Un accusé de réception vous "
        "est envoyé ; {promise}. Étapes : reçue, demande d'informations, solution proposée, "
        "clôture ; chacune vous sera notifiée.",
        "Your request is registered as {ref}. This is your acknowledgement; {promise}. "
        "Steps: received, information requested, solution proposed, closed; you will be "
        "notified of each.",
    ),
    "promise_business_hours": (
        "une réponse utile est visée sous {hours} h ouvrées, avant le {due}",
        "a useful answer is aimed for within {hours} business hours, before {due}",
    ),
    "promise_gdpr_month": (
        "une réponse vous est due sous un mois (délai légal du RGPD), avant le {due}",
        "an answer is due within one month (the GDPR's legal deadline), before {due}",
    ),
    "ticket_merged": (
        "Vous avez déjà une demande ouverte pour la commande {order} ({ref}) : j'y ai ajouté "
        "ces informations au lieu d'en créer une seconde.",
        "You already have an open request for order {order} ({ref}): I added this "
        "information to it instead of creating a second one.",
    ),
    "handoff_started": (
        "Je transmets à un conseiller (demande {ref}). Écrivez ici : vos messages lui "
        "parviennent, et ses réponses s'afficheront dans cette conversation.",
        "I am passing you to an agent (request {ref}). Write here: your messages reach "
        "them, and their answers will show up in this conversation.",
    ),
    "card_masked": (
        "Par sécurité, j'ai masqué le numéro de carte bancaire (seuls les 4 derniers chiffres "
        "sont gardés). Ne communiquez jamais votre numéro de carte : le Support ne le demande "
        "jamais.",
        "For your security, I masked the card number (only the last 4 digits are kept). Never "
        "share your card number: Support never asks for it.",
    ),
    "which_to_fix": ("Quelle réponse voulez-vous corriger ?", "Which answer do you want to fix?"),
    "btn_fix": ("Corriger : {label}", "Fix: {label}"),
    "current_answer": (
        "Réponse actuelle : {value}. Tapez la nouvelle, ou gardez-la.",
        "Current answer: {value}. Type the new one, or keep it.",
    ),
    "story_answer": (
        "Vous me l'avez déjà écrit : « {value} ». Gardez ce texte, ou tapez une description "
        "plus complète.",
        'You already wrote it: "{value}". Keep this text, or type a fuller description.',
    ),
    "btn_keep": ("Garder", "Keep"),
    "switch_offer": (
        "Vous voulez plutôt faire une autre demande, « {title} » ? La demande en cours "
        "sera abandonnée{kept}.",
        'Would you rather make another request, "{title}"? The current one will be dropped{kept}.',
    ),
    "switch_keeps_order": (" (le numéro de commande est gardé)", " (the order number is kept)"),
    "btn_switch": ("Passer à « {title} »", 'Switch to "{title}"'),
    "stuck_offer": (
        "Vous n'avez pas cette information ? « Parler à un humain » transmet à un conseiller "
        "ce que vous avez déjà indiqué.",
        'You do not have this information? "Talk to a human" passes what you already told '
        "me to an agent.",
    ),
    "handoff_from_flow": (
        "Je vous passe à un conseiller, avec ce que vous m'avez déjà indiqué :",
        "I am handing you over to an agent, with what you already told me:",
    ),
    "handoff_paused": (
        "Vos prochains messages iront à l'assistant. Pour écrire de nouveau au conseiller, "
        "rappelez la référence {ref}.",
        "Your next messages go to the assistant. To write to the agent again, mention the "
        "reference {ref}.",
    ),
    "agent_still_there": (
        "Votre demande {ref} reste suivie par le Support : pour écrire au conseiller, "
        "répondez-lui ici comme d'habitude.",
        "Your request {ref} is still being handled by Support: to write to the agent, "
        "reply here as usual.",
    ),
    "handoff_relayed": (
        "Message transmis au conseiller ({ref}). Pour une autre question : /menu",
        "Message passed to the agent ({ref}). For another question: /menu",
    ),
    # -- rules computed from the answers
    "eligibility_legal": (
        "Vous avez reçu l'article {ago} : vous êtes dans le délai légal de "
        "rétractation de 14 jours à compter de la réception (consommateurs de l'UE, sous "
        "conditions réglementaires).",
        "You received the item {ago}: you are within the legal 14-day withdrawal "
        "period from receipt (EU consumers, under the legal conditions).",
    ),
    "received_today": ("aujourd'hui", "today"),
    "received_yesterday": ("hier", "yesterday"),
    "received_days_ago": ("il y a {days} jours", "{days} days ago"),
    "eligibility_commercial": (
        "Vous avez reçu l'article {ago} : le délai légal de rétractation de "
        "14 jours est dépassé, mais la fenêtre commerciale de 30 jours de la marketplace "
        "s'applique aux articles éligibles.",
        "You received the item {ago}: the legal 14-day withdrawal period has passed, "
        "but the marketplace's 30-day commercial window applies to eligible items.",
    ),
    "eligibility_expired": (
        "Vous avez reçu l'article {ago} : c'est au-delà du délai légal de rétractation "
        "de 14 jours et de la fenêtre commerciale de 30 jours. Ces délais ne concernent pas "
        "un article défectueux ou non conforme : dans ce cas, indiquez-le comme motif, "
        "le vendeur reste tenu par les garanties légales. Dans tous les cas, votre demande "
        "peut être envoyée.",
        "You received the item {ago}: that is beyond both the legal 14-day withdrawal "
        "period and the 30-day commercial window. These periods do not cover a defective "
        "or non-conforming item: if that is the case, give it as the reason, the seller "
        "remains bound by the legal guarantees. Either way, your request can be sent.",
    ),
    "seller_wait": (
        "Le vendeur dispose de 48 h ouvrées pour répondre à votre dernier message. Sans "
        "réponse de sa part, revenez à partir du {when} : je créerai alors votre demande. "
        "Aucune demande n'a été créée pour l'instant.",
        "The seller has 48 business hours to answer your last message. If they have not "
        "answered, come back from {when}: I will then create your request. No request has "
        "been created for now.",
    ),
    # -- field refusals
    "bad_text_short": (
        "C'est un peu court : au moins {min} caractères, s'il vous plaît.",
        "That is a bit short: at least {min} characters, please.",
    ),
    "bad_text_long": (
        "C'est trop long : {max} caractères au plus (vous en avez écrit {length}).",
        "That is too long: {max} characters at most (you wrote {length}).",
    ),
    "attach_kept": (
        "Bien reçu : je garde ce fichier pour la question « {step} » ({count} en tout). "
        "Répondons d'abord à celle-ci :",
        'Got it: I keep this file for the "{step}" question ({count} in all). First, this one:',
    ),
    "text_cut": (
        "Votre texte est long ({length} caractères) : j'en garde les {max} premiers. Une fois "
        "la demande créée, envoyez la suite ici en rappelant sa référence (SAV-…).",
        "Your text is long ({length} characters): I keep the first {max}. Once the request is "
        "created, send the rest here with its reference (SAV-…).",
    ),
    "bad_choice": (
        "Je n'ai pas reconnu ce choix. Choisissez parmi : {choices}.",
        "I did not recognise that choice. Choose from: {choices}.",
    ),
    "bad_yesno": ("Répondez par oui ou par non.", "Please answer yes or no."),
    "bad_order_number": (
        "Ce n'est pas un numéro de commande valide : il compte 6 à 12 chiffres "
        "(exemple : 123456789). Vous le trouvez dans Mon compte > Commandes.",
        "That is not a valid order number: it has 6 to 12 digits (example: 123456789). "
        "You will find it in My account > Orders.",
    ),
    "bad_date_no_such_day": (
        "Le {date} n'existe pas : ce mois-là n'a pas autant de jours. Quelle est la bonne date ?",
        "There is no {date}: that month does not have that many days. What is the right date?",
    ),
    "bad_date": (
        "Je n'ai pas compris cette date. Exemples : 12/11, 12/11/2026, 12 nov, hier, "
        "lundi dernier.",
        "I did not understand that date. Examples: 12/11, 12/11/2026, 12 Nov, yesterday, "
        "last Monday.",
    ),
    "bad_date_future": (
        "Cette date ({date}) est dans le futur. Indiquez une date passée.",
        "That date ({date}) is in the future. Please give a past date.",
    ),
    "bad_date_old": (
        "Cette date ({date}) remonte à plus de deux ans : vérifiez-la.",
        "That date ({date}) is more than two years ago: please check it.",
    ),
    "bad_email": (
        "Cette adresse e-mail ne semble pas valide (exemple : prenom.nom@exemple.fr).",
        "That e-mail address does not look valid (example: jane.doe@example.com).",
    ),
    "bad_tracking": (
        "Ce numéro de suivi ne semble pas valide : 8 à 34 lettres et chiffres "
        "(exemple : 6A12345678901).",
        "That tracking number does not look valid: 8 to 34 letters and digits "
        "(example: 6A12345678901).",
    ),
    "attach_expected": (
        "J'attends ici un fichier ({kinds}). Envoyez-le, ou « terminé » si vous avez fini.",
        'I am expecting a file here ({kinds}). Send it, or "done" when finished.',
    ),
    "attach_duplicate": (
        "« {name} » est déjà joint : je ne le compte qu'une fois.",
        '"{name}" is already attached: it counts once.',
    ),
    "answer_expected": (
        "Ici j'attends une réponse écrite, pas un fichier.",
        "Here I need a written answer, not a file.",
    ),
    "attach_need_more": (
        "Il me faut au moins {min} fichier(s) ; vous en avez envoyé {count}.",
        "I need at least {min} file(s); you sent {count}.",
    ),
    "attach_bad_kind": (
        "Le fichier « {name} » n'est pas accepté ici : j'accepte {kinds}.",
        'The file "{name}" is not accepted here: I accept {kinds}.',
    ),
    "kind_image": ("les photos (JPEG, PNG, WebP, HEIC)", "photos (JPEG, PNG, WebP, HEIC)"),
    "kind_pdf": ("les documents PDF", "PDF documents"),
    "kind_video": ("les vidéos MP4", "MP4 videos"),
    "kinds_and": (" et ", " and "),
    "attach_too_big": (
        "Le fichier « {name} » est trop lourd ({size} Mo) : 20 Mo au plus par fichier.",
        'The file "{name}" is too large ({size} MB): 20 MB at most per file.',
    ),
    "attach_already": (
        "J'ai déjà {count} fichier(s) de votre part : envoyez-en d'autres, ou « terminé ».",
        'I already have {count} file(s) from you: send more, or "done".',
    ),
    "attach_received": (
        "Fichier reçu ({count}/{max}). Envoyez-en d'autres, ou « terminé ».",
        'File received ({count}/{max}). Send more, or "done".',
    ),
    "attach_full": (
        "C'est le maximum de fichiers pour cette question.",
        "That is the maximum number of files for this question.",
    ),
    "attach_kept_no_request": (
        "J'ai gardé votre fichier. Dites-moi en quelques mots ce qui se passe, ou choisissez "
        "une demande : il y sera joint.",
        "I kept your file. Tell me in a few words what is wrong, or pick a request: it will "
        "be attached to it.",
    ),
    # -- tickets
    "tickets_none": ("Vous n'avez aucune demande.", "You have no requests."),
    "tickets_list": ("Vos demandes :", "Your requests:"),
    "status_received": ("reçue", "received"),
    "status_info_requested": ("informations demandées", "information requested"),
    "status_solution_proposed": ("solution proposée", "solution proposed"),
    "status_closed": ("clôturée", "closed"),
    "status_changed": (
        "Demande {ref} : statut « {status} ».",
        'Request {ref}: status "{status}".',
    ),
    "rating_question": (
        "Votre demande {ref} est clôturée. Comment évaluez-vous l'aide reçue, de 1 à 5 ?",
        "Your request {ref} is closed. How would you rate the help you received, from 1 to 5?",
    ),
    "rating_thanks": ("Merci pour votre note !", "Thank you for your rating!"),
    "already_rated": (
        "Cette demande a déjà reçu votre note ({score}/5) : c'est elle que nous gardons. Merci !",
        "You already rated this request ({score}/5): that rating is the one we keep. Thank you!",
    ),
    "btn_solution_ok": ("Ça me convient", "That works for me"),
    "btn_solution_ko": ("Ça ne règle pas mon problème", "That does not solve my problem"),
    "solution_accepted": (
        "Merci ! Je clôture la demande {ref}.",
        "Thank you! I am closing request {ref}.",
    ),
    "solution_rejected": (
        "C'est noté : la demande {ref} est rouverte et repart au Support. Expliquez ici ce qui "
        "ne va pas.",
        "Noted: request {ref} is reopened and goes back to Support. Explain here what is wrong.",
    ),
    "not_your_ticket": (
        "Je ne trouve pas cette demande parmi les vôtres.",
        "I cannot find that request among yours.",
    ),
    "cannot_reopen": (
        "La demande {ref} est clôturée depuis trop longtemps pour être rouverte : ouvrez-en "
        "une nouvelle.",
        "Request {ref} has been closed too long to be reopened: please open a new one.",
    ),
    "feedback_thanks": (
        "Merci pour votre retour !",
        "Thanks for your feedback!",
    ),
    "feedback_sorry": (
        "Désolé que cette réponse ne vous aide pas. Reformulez votre question, ou ouvrez une "
        "demande : un conseiller vous répondra.",
        "Sorry this answer did not help. Rephrase your question, or open a request: an agent "
        "will answer you.",
    ),
    "interim": (
        "Demande {ref} : nous y travaillons toujours. En période de forte activité les délais "
        "s'allongent un peu ; une réponse utile reste visée avant le {due}.",
        "Request {ref}: we are still working on it. In busy periods delays grow a little; a "
        "useful answer is still aimed for before {due}.",
    ),
    "info_reminder": (
        "Demande {ref} : le Support attend toujours les informations demandées. Répondez ici "
        "pour que le traitement reprenne.",
        "Request {ref}: Support is still waiting for the information it asked for. Answer here "
        "so that the handling can resume.",
    ),
    "auto_closed": (
        "Sans nouvelles de votre part depuis la solution proposée, la demande {ref} est "
        "clôturée. Pour la rouvrir dans les 7 jours, écrivez-nous en rappelant sa référence "
        "({ref}).",
        "Without news from you since the proposed solution, request {ref} is closed. To "
        "reopen it within 7 days, write to us with its reference ({ref}).",
    ),
    "mydata_caption": (
        "Voici tout ce que je conserve à votre sujet (format JSON) : profil, conversations, "
        "demandes, messages et liste des pièces jointes.",
        "Here is everything I keep about you (JSON): profile, conversations, requests, "
        "messages and the list of attachments.",
    ),
    "forget_confirm": (
        "Voulez-vous vraiment effacer vos données ? Vos conversations et fichiers seront "
        "supprimés ; vos demandes seront conservées sous forme anonyme (référence, catégorie, "
        "statut, numéro de commande, dates) pour des raisons légales. C'est définitif.",
        "Do you really want your data erased? Your conversations and files will be deleted; "
        "your requests are kept in anonymous form (reference, category, status, order "
        "number, dates) for legal reasons. This cannot be undone.",
    ),
    "btn_forget_yes": ("Oui, tout effacer", "Yes, erase everything"),
    "btn_forget_no": ("Non, garder", "No, keep it"),
    "forget_done": (
        "C'est fait : vos données ont été effacées. Si vous m'écrivez à nouveau, je vous "
        "considérerai comme un nouveau client.",
        "Done: your data has been erased. If you write again, I will treat you as a new customer.",
    ),
    "forget_cancelled": ("D'accord, rien n'a été effacé.", "OK, nothing was erased."),
    "rate_limited": (
        "Vous m'écrivez très vite : ce message-ci n'a pas été pris en compte. Patientez une "
        "minute puis renvoyez-le ; tout ce qui précède est bien enregistré.",
        "You are writing very fast: this message was not taken into account. Please wait a "
        "minute and send it again; everything before it is saved.",
    ),
    "ticket_limit": (
        "Vous avez déjà ouvert {count} demandes aujourd'hui : c'est le maximum. Vos demandes "
        "en cours sont traitées ; écrivez-y plutôt (/tickets) ou réessayez demain.",
        "You already opened {count} requests today, which is the maximum. Your open "
        "requests are being handled; write there instead (/tickets) or try again tomorrow.",
    ),
    "busy": (
        "Un souci technique m'empêche de répondre. Réessayez dans un instant : rien de ce "
        "que vous avez déjà saisi n'est perdu.",
        "A technical problem prevents me from answering. Try again in a moment: nothing you "
        "already entered is lost.",
    ),
}


def text(lang: str, key: str, **values: Any) -> str:
    """The interface text ``key`` in ``lang`` (French unless English), filled with values."""
    return in_language(TEXTS[key], lang, **values)


def in_language(pair: tuple[str, str], lang: str, **values: Any) -> str:
    """The French or English one of a catalogue's ``pair`` (French unless English), filled."""
    fr, en = pair
    template = en if lang == "en" else fr
    return template.format(**values) if values else template
