"""Ecuadorian identification numbers: cédula, RUC (natural person, private company, public
entity) and passport, checked with their check digits as the Registro Civil and the SRI do.

``identification_validate`` is the one entry point; it returns the normalised number or
raises :class:`~backoffice.access.errors.DomainError` with a message saying what is wrong.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from backoffice.access.errors import DomainError

CEDULA = "cedula"
RUC = "ruc"
PASSPORT = "passport"

_PASSPORT_RE = re.compile(r"^[A-Z0-9]{5,20}$")
# Coefficients of the modulo 11 check digit (SRI): private companies weigh the first 9
# digits, public entities the first 8.
_PRIVATE_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2)
_PUBLIC_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def _invalid(message: str) -> DomainError:
    return DomainError(message, code="invalid_identification")


def _province_ok(digits: str) -> bool:
    province = int(digits[:2])
    return 1 <= province <= 24 or province == 30


def cedula_check_digit(first_nine: str) -> int:
    """The modulo 10 check digit of a cédula's first nine digits (coefficients 2,1,2,1...)."""
    total = 0
    for position, char in enumerate(first_nine):
        product = int(char) * (2 if position % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10


def modulo11_check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    """The modulo 11 check digit of ``digits``; None when the rule gives 10 (no valid number)."""
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    return None if check == 10 else check


def _validate_cedula(value: str) -> str:
    if not (value.isdigit() and len(value) == 10):
        raise _invalid(_("A cédula has exactly 10 digits."))
    if not _province_ok(value):
        raise _invalid(_("The first two digits of a cédula are a province code (01 to 24, or 30)."))
    if int(value[2]) >= 6:
        raise _invalid(_("The third digit of a cédula is less than 6."))
    if cedula_check_digit(value[:9]) != int(value[9]):
        raise _invalid(_("The cédula's check digit is wrong; check the number."))
    return value


def _validate_ruc(value: str) -> str:
    if not (value.isdigit() and len(value) == 13):
        raise _invalid(_("A RUC has exactly 13 digits."))
    if not _province_ok(value):
        raise _invalid(_("The first two digits of a RUC are a province code (01 to 24, or 30)."))
    third = int(value[2])
    if third < 6:
        # A natural person: their cédula followed by an establishment number.
        try:
            _validate_cedula(value[:10])
        except DomainError:
            raise _invalid(
                _("The first 10 digits of a natural person's RUC are not a valid cédula.")
            ) from None
        if int(value[10:]) < 1:
            raise _invalid(_("The establishment number of a RUC (its last 3 digits) starts at 001."))
        return value
    if third == 9:
        if modulo11_check_digit(value[:9], _PRIVATE_WEIGHTS) != int(value[9]):
            raise _invalid(_("The check digit of this company's RUC is wrong; check the number."))
        if int(value[10:]) < 1:
            raise _invalid(_("The establishment number of a RUC (its last 3 digits) starts at 001."))
        return value
    if third == 6:
        if modulo11_check_digit(value[:8], _PUBLIC_WEIGHTS) != int(value[8]):
            raise _invalid(_("The check digit of this public entity's RUC is wrong; check the number."))
        if int(value[9:]) < 1:
            raise _invalid(
                _("The establishment number of a public entity's RUC (last 4 digits) starts at 0001.")
            )
        return value
    raise _invalid(
        _("The third digit of a RUC is 0 to 5 (person), 6 (public entity) or 9 (private company).")
    )


def identification_validate(*, kind: str, value: str) -> str:
    """``value`` normalised (no spaces or dashes; passports upper-case) when it is a valid
    identification of ``kind`` (cedula, ruc, passport); raises DomainError otherwise."""
    cleaned = re.sub(r"[\s\-.]", "", value or "")
    if kind == CEDULA:
        return _validate_cedula(cleaned)
    if kind == RUC:
        return _validate_ruc(cleaned)
    if kind == PASSPORT:
        cleaned = cleaned.upper()
        if not _PASSPORT_RE.match(cleaned):
            raise _invalid(_("A passport number has 5 to 20 letters and digits."))
        return cleaned
    raise _invalid(_('"%(kind)s" is not an identification type.') % {"kind": kind})


def ruc_kind(ruc: str) -> str:
    """ "person", "public" or "private" by a valid RUC's third digit."""
    third = int(ruc[2])
    return "person" if third < 6 else ("public" if third == 6 else "private")
