"""Ecuadorian identification numbers: valid ones are built here by the published rules
(Registro Civil modulo 10, SRI modulo 11), invalid ones by breaking one rule at a time."""

from __future__ import annotations

import pytest

from backoffice.access.errors import DomainError
from backoffice.clients.identification import identification_validate


def _cedula_digit(nine: str) -> str:
    total = 0
    for i, ch in enumerate(nine):
        p = int(ch) * (2 if i % 2 == 0 else 1)
        total += p - 9 if p > 9 else p
    return str((10 - total % 10) % 10)


def _mod11_digit(digits: str, weights: tuple[int, ...]) -> str:
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    assert check != 10, "pick other digits: the rule has no check digit for these"
    return str(check)


def cedula(nine: str) -> str:
    return nine + _cedula_digit(nine)


def private_ruc(nine: str, establishment: str = "001") -> str:
    return nine + _mod11_digit(nine, (4, 3, 2, 7, 6, 5, 4, 3, 2)) + establishment


def public_ruc(eight: str, establishment: str = "0001") -> str:
    return eight + _mod11_digit(eight, (3, 2, 7, 6, 5, 4, 3, 2)) + establishment


def _change_digit(value: str, position: int) -> str:
    return value[:position] + str((int(value[position]) + 1) % 10) + value[position + 1 :]


VALID_CEDULAS = [
    cedula("171003406"),
    cedula("010203040"),
    cedula("092668785"),
    cedula("240000001"),
    cedula("300512345"),
]
VALID_RUCS = [
    cedula("171003406") + "001",  # natural person: cédula + establishment
    cedula("010203040") + "002",
    private_ruc("179001167"),  # private company: third digit 9
    private_ruc("099234567", "003"),
    public_ruc("17600015"),  # public entity: third digit 6
    public_ruc("01600020", "0002"),
]


@pytest.mark.parametrize("value", VALID_CEDULAS)
def test_a_cedula_built_by_the_rule_is_accepted(value):
    assert identification_validate(kind="cedula", value=value) == value


def test_published_numbers_are_accepted():
    # The SRI's own RUC (public entity) and a long-registered private company's.
    assert identification_validate(kind="ruc", value="1760001550001") == "1760001550001"
    assert identification_validate(kind="ruc", value="1790011674001") == "1790011674001"


def test_spaces_and_dashes_are_ignored():
    value = VALID_CEDULAS[0]
    assert identification_validate(kind="cedula", value=f"{value[:9]}-{value[9]} ") == value


@pytest.mark.parametrize("value", VALID_CEDULAS)
def test_a_cedula_with_a_wrong_check_digit_is_refused(value):
    with pytest.raises(DomainError, match="check digit"):
        identification_validate(kind="cedula", value=_change_digit(value, 9))


@pytest.mark.parametrize("position", [3, 5, 7, 8])
def test_a_cedula_with_one_changed_digit_is_refused(position):
    with pytest.raises(DomainError, match="check digit"):
        identification_validate(kind="cedula", value=_change_digit(VALID_CEDULAS[0], position))


@pytest.mark.parametrize("province", ["00", "25", "29", "31", "99"])
def test_a_cedula_from_no_province_is_refused(province):
    with pytest.raises(DomainError, match="province"):
        identification_validate(kind="cedula", value=cedula(province + "1234567"))


@pytest.mark.parametrize("third", "6789")
def test_a_cedula_whose_third_digit_is_6_or_more_is_refused(third):
    with pytest.raises(DomainError, match="third digit"):
        identification_validate(kind="cedula", value=cedula("17" + third + "234567"))


@pytest.mark.parametrize("value", ["171003406", "17100340651", "", "17100340a5"])
def test_a_cedula_of_the_wrong_length_or_with_letters_is_refused(value):
    with pytest.raises(DomainError, match="10 digits"):
        identification_validate(kind="cedula", value=value)


@pytest.mark.parametrize("value", VALID_RUCS)
def test_a_ruc_of_each_kind_built_by_the_rule_is_accepted(value):
    assert identification_validate(kind="ruc", value=value) == value


@pytest.mark.parametrize("value", [VALID_RUCS[0], VALID_RUCS[2], VALID_RUCS[4]])
def test_a_ruc_with_a_changed_check_digit_is_refused(value):
    position = 8 if value[2] == "6" else 9
    with pytest.raises(DomainError):
        identification_validate(kind="ruc", value=_change_digit(value, position))


@pytest.mark.parametrize("value", [VALID_RUCS[2], VALID_RUCS[4]])
def test_a_company_ruc_with_one_changed_digit_is_refused(value):
    with pytest.raises(DomainError, match="check digit"):
        identification_validate(kind="ruc", value=_change_digit(value, 4))


@pytest.mark.parametrize(
    "value", [cedula("171003406") + "000", private_ruc("179001167", "000"), public_ruc("17600015", "0000")]
)
def test_a_ruc_with_establishment_zero_is_refused(value):
    with pytest.raises(DomainError, match="establishment"):
        identification_validate(kind="ruc", value=value)


def test_a_ruc_with_a_third_digit_of_7_or_8_is_refused():
    for third in "78":
        with pytest.raises(DomainError, match="third digit"):
            identification_validate(kind="ruc", value="17" + third + "0011674001")


@pytest.mark.parametrize("value", [private_ruc("259001167"), "00" + public_ruc("17600015")[2:]])
def test_a_ruc_from_no_province_is_refused(value):
    with pytest.raises(DomainError, match="province"):
        identification_validate(kind="ruc", value=value)


@pytest.mark.parametrize("value", ["179001167400", "17900116740012", VALID_CEDULAS[0]])
def test_a_ruc_of_the_wrong_length_is_refused(value):
    with pytest.raises(DomainError, match="13 digits"):
        identification_validate(kind="ruc", value=value)


def test_a_natural_ruc_whose_cedula_is_wrong_is_refused():
    with pytest.raises(DomainError, match="cédula"):
        identification_validate(kind="ruc", value=_change_digit(VALID_CEDULAS[0], 9) + "001")


def test_a_passport_is_letters_and_digits():
    assert identification_validate(kind="passport", value="ab 123456") == "AB123456"
    with pytest.raises(DomainError, match="passport"):
        identification_validate(kind="passport", value="A1")
    with pytest.raises(DomainError, match="passport"):
        identification_validate(kind="passport", value="AB#12345")
