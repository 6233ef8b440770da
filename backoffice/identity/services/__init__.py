"""Writes of the identity service (HackSoft services), one module per concern:

- :mod:`.accounts`: users, login and tokens, the audit log, and what the others share;
- :mod:`.passwords`: changing a password, resetting a forgotten one;
- :mod:`.activation`: activation codes and e-mail verification.

Every change that other services must hear about writes its event to the outbox in the same
transaction (``identity.user.created``, ``identity.password.changed``); e-mails are sent on
commit, so a rolled-back change sends nothing. The public functions are re-exported here: the
API, the pages, the admin and the seed command call them as ``services.<name>``.
"""

from backoffice.identity.services.accounts import (
    RequestMeta,
    admin_sign_in,
    audit_record,
    sign_in_unlock,
    token_logout,
    token_obtain,
    token_refresh,
    user_create,
    user_profile_update,
    web_sign_in,
)
from backoffice.identity.services.activation import (
    account_activate,
    activation_code_issue,
    email_verify,
    subscriber_account_for_client,
)
from backoffice.identity.services.passwords import (
    password_change,
    password_reset_confirm,
    password_reset_request,
)

__all__ = [
    "RequestMeta",
    "account_activate",
    "activation_code_issue",
    "admin_sign_in",
    "audit_record",
    "email_verify",
    "password_change",
    "password_reset_confirm",
    "password_reset_request",
    "sign_in_unlock",
    "subscriber_account_for_client",
    "token_logout",
    "token_obtain",
    "token_refresh",
    "user_create",
    "user_profile_update",
    "web_sign_in",
]
