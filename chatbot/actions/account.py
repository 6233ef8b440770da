"""Balance, due date, payment link (billing) and plan, plan change, contract (clients).

Billing and clients are separate services that may be down or not deployed yet: each action
then says the figure is not available right now instead of guessing.
"""

from __future__ import annotations

from decimal import Decimal

from chatbot.actions.base import Reply, Subscriber, SubscriberAction, payment_gateway, portal_url
from chatbot.actions.messages import money, say
from chatbot.backoffice_client import BackofficeClient, Balance, Refused, Unavailable


def _balance_text(balance: Balance, language: str) -> str:
    if balance.amount > Decimal("0"):
        return say("balance_due", language, amount=money(balance.amount))
    if balance.amount < Decimal("0"):
        return say("balance_credit", language, amount=money(-balance.amount))
    return say("balance_clear", language)


def _next_invoice_text(balance: Balance, language: str) -> str:
    if balance.next_invoice_total is None or not balance.next_due_date:
        return say("no_next_invoice", language)
    return say(
        "next_invoice",
        language,
        number=balance.next_invoice_number or "—",
        total=money(balance.next_invoice_total),
        due=balance.next_due_date,
    )


class ActionBalance(SubscriberAction):
    unavailable = "balance_unavailable"

    def name(self) -> str:
        return "action_balance"

    def answer(self, subscriber: Subscriber, client: BackofficeClient) -> Reply:
        balance = client.balance_of(subscriber.client_id)
        language = subscriber.language
        return Reply([f"{_balance_text(balance, language)} {_next_invoice_text(balance, language)}"])


class ActionDueDate(SubscriberAction):
    unavailable = "balance_unavailable"

    def name(self) -> str:
        return "action_due_date"

    def answer(self, subscriber: Subscriber, client: BackofficeClient) -> Reply:
        return Reply([_next_invoice_text(client.balance_of(subscriber.client_id), subscriber.language)])


class ActionPaymentLink(SubscriberAction):
    unavailable = "pay_link_unavailable"

    def name(self) -> str:
        return "action_payment_link"

    def answer(self, subscriber: Subscriber, client: BackofficeClient) -> Reply:
        language = subscriber.language
        try:
            link = client.payment_link(
                subscriber.client_id, gateway=payment_gateway(), return_url=f"{portal_url()}/"
            )
        except Refused as exc:
            if exc.code in ("nothing_to_pay", "nothing_due"):
                return Reply([say("nothing_to_pay", language)])
            raise Unavailable(str(exc)) from exc
        amount = say("pay_link_amount", language, amount=money(link.amount)) if link.amount else ""
        return Reply([say("pay_link", language, url=link.url, amount=amount)])


class ActionPlanInfo(SubscriberAction):
    unavailable = "plan_unavailable"

    def name(self) -> str:
        return "action_plan_info"

    def answer(self, subscriber: Subscriber, client: BackofficeClient) -> Reply:
        language = subscriber.language
        try:
            plan = client.plan_of(subscriber.client_id)
        except (Unavailable, Refused):
            # The clients service is not answering: the network service knows the speeds at least.
            services = client.services_of(subscriber.client_id)
            if not services:
                raise Unavailable("neither clients nor network know the plan") from None
            s = services[0]
            return Reply([say("plan_from_network", language, name=s.plan_code, down=s.download, up=s.upload)])
        price = say("plan_price", language, price=money(plan.monthly_price)) if plan.monthly_price else ""
        return Reply([say("plan", language, name=plan.name, down=plan.download, up=plan.upload, price=price)])


class ActionChangePlan(SubscriberAction):
    """A plan change needs a person (price, contract, installation): the bot opens the ticket."""

    def name(self) -> str:
        return "action_change_plan"

    def answer(self, subscriber: Subscriber, client: BackofficeClient) -> Reply:
        ticket = client.ticket_open(
            client_id=subscriber.client_id,
            subject=say("change_plan_subject", subscriber.language),
            body=subscriber.text,
            conversation_id=subscriber.conversation_id,
        )
        return Reply([say("change_plan", subscriber.language, id=ticket.id)])


class ActionContractCopy(SubscriberAction):
    unavailable = "contract_unavailable"

    def name(self) -> str:
        return "action_contract_copy"

    def answer(self, subscriber: Subscriber, client: BackofficeClient) -> Reply:
        try:
            contract = client.contract_of(subscriber.client_id, language=subscriber.language)
        except Refused as exc:
            raise Unavailable(str(exc)) from exc
        # The portal serves the PDF to its signed-in subscriber (the back office's needs a token).
        url = f"{portal_url()}/contract/{contract.subscription_id}/{contract.version}/{contract.language}.pdf"
        return Reply([say("contract", subscriber.language, url=url, version=contract.version)])
