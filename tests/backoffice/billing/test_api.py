"""The billing API: billing staff write, agents read, the chatbot reads and makes pay links,
a subscriber sees only their own account; the demo gateway pays through the webhook path."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from backoffice.billing.gateways.demo_gateway import DemoGateway
from backoffice.billing.models import Payment

pytestmark = pytest.mark.django_db(databases=["default", "billing"])

BASE = "/api/billing/v1"
NUMBER = "001-001-000000001"


@pytest.fixture
def march_invoiced(alice_subscribed, run_march, deliver):
    """Alice (client 1) owes March's 28.75; Charlie (client 2) has an account too."""
    from tests.backoffice.billing.conftest import client_event

    deliver(client_event(client_id=2, name="Charlie Cevallos", identification="0911111111"))
    run_march()


def test_carol_records_a_transfer_and_the_balance_follows(march_invoiced, carol, client_as):
    api = client_as(carol)

    recorded = api.post(
        f"{BASE}/payments/",
        {"client_id": 1, "amount": "20.00", "method": "transfer", "reference": "BP-778812"},
        format="json",
    )
    account = api.get(f"{BASE}/accounts/1/")

    assert recorded.status_code == 201, recorded.content
    assert recorded.json()["recorded_by"] == str(carol.pk) or recorded.json()["recorded_by"]
    assert account.json()["balance"] == "8.75"
    assert api.get(f"{BASE}/invoices/{NUMBER}/").json()["status"] == "partially_paid"


def test_a_transfer_without_its_reference_is_refused_naming_the_field(march_invoiced, carol, client_as):
    response = client_as(carol).post(
        f"{BASE}/payments/", {"client_id": 1, "amount": "20.00", "method": "transfer"}, format="json"
    )

    assert response.status_code == 400
    assert "reference" in response.json()["fields"]
    assert not Payment.objects.exists()


def test_bob_the_agent_reads_but_cannot_record_payments_or_credit_notes(march_invoiced, bob, client_as):
    api = client_as(bob)

    assert api.get(f"{BASE}/invoices/?client_id=1").json()["count"] == 1
    assert (
        api.post(
            f"{BASE}/payments/", {"client_id": 1, "amount": "5.00", "method": "cash"}, format="json"
        ).status_code
        == 403
    )
    credit = api.post(
        f"{BASE}/invoices/{NUMBER}/credit-notes/",
        {"subtotal": "5.00", "tax_rate": "0.15", "reason": "x"},
        format="json",
    )
    assert credit.status_code == 403


def test_ada_credits_part_of_an_invoice(march_invoiced, ada, client_as):
    response = client_as(ada).post(
        f"{BASE}/invoices/{NUMBER}/credit-notes/",
        {"subtotal": "10.00", "tax_rate": "0.15", "reason": "Corte de servicio 3 días"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["total"] == "11.50"
    assert client_as(ada).get(f"{BASE}/accounts/1/").json()["balance"] == "17.25"


def test_alice_sees_her_own_invoices_and_never_charlies(march_invoiced, alice, charlie, client_as):
    alice_api, charlie_api = client_as(alice), client_as(charlie)

    assert alice_api.get(f"{BASE}/me/account/").json()["balance"] == "28.75"
    assert [i["number"] for i in alice_api.get(f"{BASE}/me/invoices/").json()["results"]] == [NUMBER]
    assert charlie_api.get(f"{BASE}/me/invoices/{NUMBER}/").status_code == 404
    assert charlie_api.get(f"{BASE}/me/invoices/{NUMBER}/pdf").status_code == 404
    assert alice_api.get(f"{BASE}/accounts/2/").status_code == 403
    assert alice_api.get(f"{BASE}/invoices/").status_code == 403


@pytest.mark.parametrize(("language", "words"), [("es", "Factura"), ("en", "Invoice")])
def test_the_invoice_pdf_is_in_the_asked_language(march_invoiced, alice, client_as, language, words):
    response = client_as(alice).get(f"{BASE}/me/invoices/{NUMBER}/pdf?language={language}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert words in text
    assert NUMBER in text and "28.75" in text


def test_the_chatbot_reads_balances_and_makes_a_pay_link_but_records_nothing(march_invoiced, service_client):
    reader = service_client("billing.read")
    linker = service_client("billing.pay_link")

    assert reader.get(f"{BASE}/accounts/1/").json()["balance"] == "28.75"
    assert reader.post(f"{BASE}/checkouts/", {}, format="json").status_code == 403
    link = linker.post(
        f"{BASE}/checkouts/",
        {
            "client_id": 1,
            "gateway": "demo",
            "success_url": "https://p.test/ok",
            "cancel_url": "https://p.test/no",
        },
        format="json",
    )
    assert link.status_code == 201, link.content
    assert (link.json()["amount"], link.json()["demo"]) == ("28.75", True)
    assert linker.get(f"{BASE}/accounts/1/").status_code == 403
    assert (
        linker.post(
            f"{BASE}/payments/", {"client_id": 1, "amount": "1.00", "method": "cash"}, format="json"
        ).status_code
        == 403
    )


def test_alice_pays_with_the_demo_gateway_through_the_webhook_path(
    march_invoiced, alice, client_as, api_client, outbox
):
    alice_api = client_as(alice)
    created = alice_api.post(
        f"{BASE}/me/checkouts/",
        {
            "gateway": "demo",
            "invoice_number": NUMBER,
            "success_url": "https://p.test/ok",
            "cancel_url": "https://p.test/no",
        },
        format="json",
    ).json()
    reference = created["reference"]
    assert alice_api.get(f"{BASE}/me/checkouts/{reference}/").json()["status"] == "open"

    body, signature = DemoGateway.from_settings().complete(gateway_checkout_id=f"demo_{reference}")
    forged = api_client.post(
        f"{BASE}/webhooks/demo", data=body, content_type="application/json", HTTP_DEMO_SIGNATURE="t=1,v1=00"
    )
    delivered = api_client.post(
        f"{BASE}/webhooks/demo", data=body, content_type="application/json", HTTP_DEMO_SIGNATURE=signature
    )
    again = api_client.post(
        f"{BASE}/webhooks/demo", data=body, content_type="application/json", HTTP_DEMO_SIGNATURE=signature
    )

    assert forged.status_code == 400
    assert (delivered.json()["result"], again.json()["result"]) == ("applied", "duplicate")
    assert alice_api.get(f"{BASE}/me/checkouts/{reference}/").json()["status"] == "paid"
    assert alice_api.get(f"{BASE}/me/account/").json()["balance"] == "0.00"
    assert Payment.objects.get().amount == Decimal("28.75")


def test_the_openapi_schema_describes_every_billing_endpoint(api_client):
    response = api_client.get(f"{BASE}/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/billing/v1/payments/",
        "/api/billing/v1/me/invoices/{number}/pdf",
        "/api/billing/v1/webhooks/{gateway}",
        "/api/billing/v1/checkouts/",
    ):
        assert path in paths
    assert (
        "application/pdf"
        in paths["/api/billing/v1/me/invoices/{number}/pdf"]["get"]["responses"]["200"]["content"]
    )


def test_each_invoice_is_emailed_once_as_a_pdf_in_the_clients_language(march_invoiced, deliver, now):
    from django.core import mail

    from backoffice.billing.documents import invoices_email_pending
    from tests.backoffice.billing.conftest import client_event

    deliver(client_event("clients.client.updated", language="en"))

    assert invoices_email_pending(now=now) == 1
    assert invoices_email_pending(now=now) == 0
    [message] = mail.outbox
    assert message.to == ["facturas.alice@example.ec"]
    assert message.subject == f"Your invoice {NUMBER}"
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == (f"{NUMBER}.pdf", "application/pdf")
    assert "28.75" in "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
