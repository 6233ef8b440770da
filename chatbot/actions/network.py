"""Service status and line diagnosis: the network service, the netagent and the router."""

from __future__ import annotations

import os

from chatbot.actions.base import Reply, Subscriber, SubscriberAction
from chatbot.actions.messages import say, when
from chatbot.backoffice_client import BackofficeClient, Refused, ServiceState

# How long the bot waits for the netagent's answer from the router before it answers with the
# last known state (the subscriber is waiting on the other side).
DIAGNOSIS_WAIT = float(os.environ.get("ENLACE_CHATBOT_DIAGNOSIS_WAIT", "8"))


def _reason(service: ServiceState, language: str) -> str:
    key = f"reason_{service.suspension_reason}"
    return say(
        key if service.suspension_reason in ("overdue", "manual", "requested", "abuse") else "reason_manual",
        language,
    )


def _status_lines(service: ServiceState, language: str) -> list[str]:
    speeds = {"plan": service.plan_code, "down": service.download, "up": service.upload}
    if service.status == "suspended":
        lines = [say("status_suspended", language, plan=service.plan_code, reason=_reason(service, language))]
        if service.suspension_reason == "overdue":
            lines.append(say("pay_to_reconnect", language))
        return lines
    lines = [say("status_pending" if service.status == "pending" else "status_active", language, **speeds)]
    if service.online is not None:
        lines.append(say("online" if service.online else "offline", language))
    if service.last_seen_at:
        lines.append(say("last_seen", language, when=when(service.last_seen_at, language)))
    return lines


class ActionServiceStatus(SubscriberAction):
    def name(self) -> str:
        return "action_service_status"

    def answer(self, subscriber: Subscriber, client: BackofficeClient) -> Reply:
        services = client.services_of(subscriber.client_id)
        if not services:
            return Reply([say("no_service", subscriber.language)])
        return Reply([" ".join(_status_lines(s, subscriber.language)) for s in services])


class ActionDiagnose(SubscriberAction):
    """Runs a diagnosis on the router for each of the subscriber's services and says what it found."""

    def name(self) -> str:
        return "action_diagnose"

    def answer(self, subscriber: Subscriber, client: BackofficeClient) -> Reply:
        language = subscriber.language
        services = client.services_of(subscriber.client_id)
        if not services:
            return Reply([say("no_service", language)])
        texts = []
        for service in services:
            if service.status == "suspended":
                # The router drops a suspended line on purpose; that is the answer.
                text = say("diagnosis_suspended", language, reason=_reason(service, language))
                if service.suspension_reason == "overdue":
                    text += " " + say("pay_to_reconnect", language)
                texts.append(text)
                continue
            try:
                diagnosis = client.diagnose(service.subscription_id, wait=DIAGNOSIS_WAIT)
            except Refused as exc:
                texts.append(say("diagnosis_error", language, error=exc.code or exc.status))
                continue
            if not diagnosis.completed:
                state = (
                    "diagnosis_state_unknown"
                    if service.online is None
                    else "diagnosis_state_online"
                    if service.online
                    else "diagnosis_state_offline"
                )
                text = say("diagnosis_pending", language, state=say(state, language))
                if service.last_seen_at:
                    text += " " + say("last_seen", language, when=when(service.last_seen_at, language))
                texts.append(text)
            elif diagnosis.error:
                texts.append(say("diagnosis_error", language, error=diagnosis.error))
            elif diagnosis.online:
                texts.append(
                    say(
                        "diagnosis_online",
                        language,
                        address=diagnosis.address or "—",
                        uptime=diagnosis.uptime or "—",
                    )
                )
            else:
                text = say("diagnosis_offline", language)
                if service.last_seen_at:
                    text += " " + say("last_seen", language, when=when(service.last_seen_at, language))
                texts.append(text)
        return Reply(texts)
