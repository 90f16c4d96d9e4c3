"""The PII detector behind the endpoints' PII guardrail: what it finds, what it must not find
(numbers whose check digit fails, dates nobody was born on), and what it keeps of a value."""

from __future__ import annotations

import pytest

from services.core.pii import PiiKind, find_pii, iban_valid, luhn_valid, mask, masked_text, npi_valid


def found(text: str) -> list[tuple[PiiKind, str]]:
    return [(f.kind, text[f.start:f.end]) for f in find_pii(text)]


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("Write to jane.doe+billing@example.co.uk today.", PiiKind.EMAIL, "jane.doe+billing@example.co.uk"),
    ("Call +44 20 7946 0958 after nine.", PiiKind.PHONE, "+44 20 7946 0958"),
    ("Call +33 6 12 34 56 78.", PiiKind.PHONE, "+33 6 12 34 56 78"),
    ("Call +1 415 555 0132.", PiiKind.PHONE, "+1 415 555 0132"),
    ("Call (415) 555-0132.", PiiKind.PHONE, "(415) 555-0132"),
    ("Call 415.555.0132 or", PiiKind.PHONE, "415.555.0132"),
    ("Toll free: 1-800-555-0199", PiiKind.PHONE, "1-800-555-0199"),
    ("SSN 123-45-6789 on file", PiiKind.SSN, "123-45-6789"),
    ("Social security number: 123456789", PiiKind.SSN, "123456789"),
    ("Paid with 4111 1111 1111 1111.", PiiKind.PAYMENT_CARD, "4111 1111 1111 1111"),
    ("card 5500-0000-0000-0004", PiiKind.PAYMENT_CARD, "5500-0000-0000-0004"),
    ("amex 378282246310005", PiiKind.PAYMENT_CARD, "378282246310005"),
    ("IBAN DE89 3704 0044 0532 0130 00.", PiiKind.IBAN, "DE89 3704 0044 0532 0130 00"),
    ("to GB82WEST12345698765432", PiiKind.IBAN, "GB82WEST12345698765432"),
    ("from host 192.168.1.20.", PiiKind.IPV4, "192.168.1.20"),
    ("Date of birth: 1984-03-12", PiiKind.DATE_OF_BIRTH, "1984-03-12"),
    ('{"dob": "03/12/1984"}', PiiKind.DATE_OF_BIRTH, "03/12/1984"),
    ("She was born on March 12, 1984.", PiiKind.DATE_OF_BIRTH, "March 12, 1984"),
    ("Referring provider NPI: 1234567893.", PiiKind.NPI, "1234567893"),
    ('{"npi": "1245319599"}', PiiKind.NPI, "1245319599"),
    ("Patient: John Smith was seen today.", PiiKind.PERSON_NAME, "John Smith"),
    ('{"patient_name": "Mary Ann Lee"}', PiiKind.PERSON_NAME, "Mary Ann Lee"),
    ("Name: Jane Roe", PiiKind.PERSON_NAME, "Jane Roe"),
    ("Seen by Dr. Gregory House.", PiiKind.PERSON_NAME, "Gregory House"),
    ("Member ID: XJ4-55-1234", PiiKind.MEMBER_ID, "XJ4-55-1234"),
    ("Policy number W123456789 is active", PiiKind.MEMBER_ID, "W123456789"),
    ('{"insurance_id": "BCX88812345"}', PiiKind.MEMBER_ID, "BCX88812345"),
])
def test_each_kind_of_personal_data_is_found_with_its_span(text, kind, value):
    assert found(text) == [(kind, value)]


@pytest.mark.parametrize("text", [
    '{"urgency": "urgent"}',
    "Invoice INV-0042 for 420.00, reference 1234567890.",
    "Card 4111 1111 1111 1112 fails its Luhn check.",  # one digit off a valid test card
    "Order 1234567812345678 is a random 16-digit number.",
    "Account 0000 0000 0000 0000",  # all zeros pass Luhn but are no card
    "IBAN DE89 3704 0044 0532 0130 01",  # mod 97 fails
    "GB82WEST12345698765433",
    "SSNs are never 000-12-3456, 666-12-3456, 912-34-5678 or 123-00-4567.",
    "Release 1.2.3.4.5, and 256.1.1.1 is no address.",
    "Invoice date 1984-03-12, due 03/12/1984.",  # a date nobody is said to be born on
    "Dial 555-0132 (seven digits, no area code).",
    "ID 4155550132 without separators.",
    "user at example dot com",
    "NPI: 1234567894",  # the check digit over 80840 + the first nine fails
    "NPI: 3234567893",  # an NPI starts with 1 or 2
    "Vendor name: Acme Supplies Ltd",  # a company's name is no person's
    "Name: invoice total",  # not a capitalised name
    "Member ID: pending",  # no digit: no id
    "Reference 1234567893 without a label is no NPI.",
])
def test_text_without_personal_data_is_not_flagged(text):
    assert found(text) == []


def test_findings_come_in_text_order_and_a_card_is_not_also_read_as_a_phone():
    text = "Card 4111-1111-1111-1111, mail a@b.io, phone +49 30 901820"
    assert [k for k, _ in found(text)] == [PiiKind.PAYMENT_CARD, PiiKind.EMAIL, PiiKind.PHONE]


def test_the_checksums_follow_their_standards():
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert iban_valid("NO9386011117947") and iban_valid("FR1420041010050500013M02606")
    assert not iban_valid("FR1420041010050500013M02607") and not iban_valid("DE89")


def test_an_npi_check_digit_is_luhn_over_the_80840_prefix():
    assert npi_valid("1234567893") and npi_valid("1245319599")
    assert not npi_valid("1234567890") and not npi_valid("123456789") and not npi_valid("0234567893")


def test_a_masked_value_keeps_its_shape_and_only_its_last_characters():
    assert mask("4111 1111 1111 1111", PiiKind.PAYMENT_CARD) == "**** **** **** 1111"
    assert mask("jane@example.com", PiiKind.EMAIL) == "****@*******.*om"
    assert mask("123-45-6789", PiiKind.SSN) == "***-**-**89"
    assert mask("1.2.3.4", PiiKind.IPV4) == "*.*.*.*"  # too short to keep any


def test_masked_text_replaces_every_finding_and_keeps_the_rest():
    text = "Mail jane@example.com or call (415) 555-0132."
    masked = masked_text(text, find_pii(text))
    assert masked == "Mail ****@*******.*om or call (***) ***-**32."
    assert find_pii(masked) == []
