"""Every sentence the actions say, in Spanish (Ecuador, the default) and English.

Rasa's own answers live in domain.yml, chosen by the ``language`` slot; these are the actions'
answers, chosen by the language in the signed metadata. Kept as one table (not gettext) because
the action server runs without Django, and a missing translation must fail a test, not fall back.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"
LOCAL_TIME = ZoneInfo("America/Guayaquil")

MESSAGES: dict[str, dict[str, str]] = {
    "refused": {
        # No verified subscriber: the bot cannot know the language either, so it says both.
        "es": "No puedo confirmar quién eres en esta conversación, así que no puedo consultar "
        "ninguna cuenta. Ingresa al portal y escríbeme desde el chat. / I can't confirm who you "
        "are in this conversation, so I can't look up any account. Sign in to the portal and "
        "write to me from its chat.",
        "en": "No puedo confirmar quién eres en esta conversación, así que no puedo consultar "
        "ninguna cuenta. Ingresa al portal y escríbeme desde el chat. / I can't confirm who you "
        "are in this conversation, so I can't look up any account. Sign in to the portal and "
        "write to me from its chat.",
    },
    "unavailable": {
        "es": "No puedo consultar eso en este momento. Inténtalo en unos minutos o pide hablar "
        "con un asesor.",
        "en": "I can't look that up right now. Try again in a few minutes or ask to talk to an agent.",
    },
    "failed": {
        "es": 'Algo falló de mi lado. Si quieres, te paso con un asesor: escribe "asesor".',
        "en": 'Something went wrong on my side. If you like, I\'ll put you through to an agent: say "agent".',
    },
    # --- service status ------------------------------------------------------------------------
    "no_service": {
        "es": "No encuentro un servicio de internet activo a tu nombre.",
        "en": "I can't find an active internet service in your name.",
    },
    "status_active": {
        "es": "Tu servicio {plan} ({down}/{up}) está activo.",
        "en": "Your {plan} service ({down}/{up}) is active.",
    },
    "status_pending": {
        "es": "Tu servicio {plan} ({down}/{up}) se está activando en el router; estará listo en segundos.",
        "en": "Your {plan} service ({down}/{up}) is being set up on the router; it will be ready in seconds.",
    },
    "status_suspended": {
        "es": "Tu servicio {plan} está suspendido ({reason}).",
        "en": "Your {plan} service is suspended ({reason}).",
    },
    "online": {"es": "Tu equipo está conectado.", "en": "Your equipment is connected."},
    "offline": {
        "es": "Tu equipo no está conectado en este momento.",
        "en": "Your equipment is not connected right now.",
    },
    "last_seen": {"es": "Última conexión: {when}.", "en": "Last seen: {when}."},
    "pay_to_reconnect": {
        "es": 'Cuando pagues, se reactiva en segundos. Escribe "pagar ahora" y te envío el enlace.',
        "en": 'Once you pay it is back within seconds. Say "pay now" and I\'ll send you the link.',
    },
    # --- diagnosis -----------------------------------------------------------------------------
    "diagnosis_online": {
        "es": "Revisé tu línea en el router: estás conectado (dirección {address}, conectado "
        "desde hace {uptime}). "
        "Si aún va mal, reinicia tu equipo o abre un ticket.",
        "en": "I checked your line on the router: you are connected (address {address}, up for {uptime}). "
        "If it still misbehaves, restart your equipment or open a ticket.",
    },
    "diagnosis_offline": {
        "es": "Revisé tu línea en el router: tu equipo no está conectado. Revisa que esté encendido y "
        "los cables bien puestos, y reinícialo. Si sigue igual, abre un ticket y lo revisamos.",
        "en": "I checked your line on the router: your equipment is not connected. Check that it is on "
        "and the cables are in, then restart it. If nothing changes, open a ticket and we'll look into it.",
    },
    "diagnosis_suspended": {
        "es": "Tu servicio está suspendido ({reason}); por eso no tienes internet.",
        "en": "Your service is suspended ({reason}); that is why you have no internet.",
    },
    "diagnosis_pending": {
        "es": "El router aún no responde a la revisión. Según el último dato, {state}",
        "en": "The router has not answered the check yet. From the last report, {state}",
    },
    "diagnosis_state_online": {"es": "tu equipo estaba conectado.", "en": "your equipment was connected."},
    "diagnosis_state_offline": {
        "es": "tu equipo no estaba conectado.",
        "en": "your equipment was not connected.",
    },
    "diagnosis_state_unknown": {
        "es": "no sabemos si tu equipo está conectado.",
        "en": "we don't know whether your equipment is connected.",
    },
    "diagnosis_error": {
        "es": "No pude revisar tu línea en el router ({error}). Abre un ticket y un técnico la revisa.",
        "en": "I couldn't check your line on the router ({error}). Open a ticket and a technician will look.",
    },
    "reason_overdue": {"es": "por falta de pago", "en": "for non-payment"},
    "reason_manual": {"es": "por decisión administrativa", "en": "by the office"},
    "reason_requested": {"es": "a tu pedido", "en": "at your request"},
    "reason_abuse": {"es": "por uso indebido", "en": "for misuse"},
    # --- tickets -------------------------------------------------------------------------------
    "ticket_subject": {"es": "Desde el chat: {text}", "en": "From the chat: {text}"},
    "ticket_opened": {
        "es": "Abrí el ticket #{id}. Un asesor lo revisará y te responderá por aquí o por correo.",
        "en": "I opened ticket #{id}. An agent will review it and reply here or by e-mail.",
    },
    "no_tickets": {"es": "No tienes tickets abiertos.", "en": "You have no tickets."},
    "tickets_header": {"es": "Tus tickets más recientes:", "en": "Your latest tickets:"},
    "ticket_line": {"es": "#{id} «{subject}»: {status}", "en": "#{id} “{subject}”: {status}"},
    "ticket_new": {"es": "nuevo", "en": "new"},
    "ticket_open": {"es": "en atención", "en": "being handled"},
    "ticket_pending": {"es": "esperando tu respuesta", "en": "waiting for your reply"},
    "ticket_resolved": {"es": "resuelto", "en": "resolved"},
    "ticket_closed": {"es": "cerrado", "en": "closed"},
    # --- hand-over -------------------------------------------------------------------------------
    "handoff": {
        "es": "Te paso con un asesor. En un momento alguien del equipo te responde por aquí.",
        "en": "I'm putting you through to an agent. Someone from the team will reply here shortly.",
    },
    # --- billing and clients -----------------------------------------------------------------------
    "balance_due": {"es": "Tu saldo pendiente es {amount}.", "en": "Your balance due is {amount}."},
    "balance_clear": {"es": "No tienes saldo pendiente.", "en": "You have nothing to pay."},
    "balance_credit": {"es": "Tienes un saldo a favor de {amount}.", "en": "You have a credit of {amount}."},
    "next_invoice": {
        "es": "Tu próxima factura ({number}) es de {total} y vence el {due}.",
        "en": "Your next invoice ({number}) is {total}, due on {due}.",
    },
    "no_next_invoice": {"es": "No tienes facturas por vencer.", "en": "You have no invoice coming due."},
    "balance_unavailable": {
        "es": "Tu saldo no está disponible en este momento. Puedes verlo en Facturas en el portal o "
        "intentar en unos minutos.",
        "en": "Your balance is not available right now. You can see it under Invoices in the portal "
        "or try again in a few minutes.",
    },
    "pay_link": {
        "es": "Aquí tienes tu enlace de pago{amount}: {url}",
        "en": "Here is your payment link{amount}: {url}",
    },
    "pay_link_amount": {"es": " por {amount}", "en": " for {amount}"},
    "pay_link_unavailable": {
        "es": "No puedo generar el enlace de pago en este momento. Puedes pagar desde Facturas en el portal.",
        "en": "I can't create the payment link right now. You can pay from Invoices in the portal.",
    },
    "nothing_to_pay": {"es": "No tienes nada pendiente de pago.", "en": "You have nothing to pay."},
    "plan": {
        "es": "Tu plan es {name}: {down} de bajada y {up} de subida{price}.",
        "en": "Your plan is {name}: {down} down and {up} up{price}.",
    },
    "plan_price": {"es": ", por {price} al mes más IVA", "en": ", for {price} a month plus VAT"},
    "plan_from_network": {
        "es": "Tu plan es {name}: {down} de bajada y {up} de subida.",
        "en": "Your plan is {name}: {down} down and {up} up.",
    },
    "plan_unavailable": {
        "es": "No puedo consultar tu plan en este momento. Lo ves en Mi plan en el portal.",
        "en": "I can't look up your plan right now. You can see it under My plan in the portal.",
    },
    "change_plan": {
        "es": "Para cambiar de plan abrí el ticket #{id}; un asesor te contactará con las opciones.",
        "en": "To change your plan I opened ticket #{id}; an agent will contact you with the options.",
    },
    "change_plan_subject": {
        "es": "Cambio de plan (pedido en el chat)",
        "en": "Plan change (asked in the chat)",
    },
    "contract": {
        "es": "Aquí tienes tu contrato (versión {version}): {url}",
        "en": "Here is your contract (version {version}): {url}",
    },
    "contract_unavailable": {
        "es": "No puedo obtener tu contrato en este momento. Lo descargas en Mi contrato en el portal.",
        "en": "I can't get your contract right now. You can download it under My contract in the portal.",
    },
}


def say(key: str, language: str, **values: Any) -> str:
    """The sentence ``key`` in ``language`` (Spanish for anything else) with ``values`` filled in."""
    texts = MESSAGES[key]
    return texts.get(language, texts[DEFAULT_LANGUAGE]).format(**values)


def money(amount: Decimal) -> str:
    """US dollars to the cent, e.g. ``$23.00``."""
    return f"${amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


def when(iso: str | None, language: str) -> str:
    """An RFC 3339 time as the subscriber reads it (Ecuador's time zone)."""
    if not iso:
        return "—"
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(LOCAL_TIME)
    return moment.strftime("%d/%m/%Y %H:%M" if language == "es" else "%Y-%m-%d %H:%M")
