"""Personal data in text (a model's answer, a pair's prompt or response): e-mail addresses, phone
numbers (international and US forms), US SSNs, payment card numbers (Luhn-checked), IBANs (mod-97
checked), IPv4 addresses; and, where the text labels them so, dates of birth, people's names,
insurance and member ids, and NPIs (Luhn-checked with the 80840 prefix).

Used by the serving guardrail (DEPLOY) and the PII signal beside each pair (LABEL), so it sits
in core, below both.

Patterns alone flag every long run of digits, so the numbers that carry a check digit are
flagged only when it holds: a random 16-digit number is not a card. A finding keeps its kind,
its span and a masked form; the value itself is never kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum


class PiiKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    SSN = "ssn"
    PAYMENT_CARD = "payment_card"
    IBAN = "iban"
    IPV4 = "ipv4"
    DATE_OF_BIRTH = "date_of_birth"
    PERSON_NAME = "person_name"
    MEMBER_ID = "member_id"  # an insurance policy, member or subscriber id
    NPI = "npi"  # a US National Provider Identifier


@dataclass(frozen=True)
class PiiFinding:
    kind: PiiKind
    start: int  # character offsets in the answer, end exclusive
    end: int
    masked: str

    def as_json(self) -> dict[str, object]:
        return {"kind": self.kind.value, "start": self.start, "end": self.end, "masked": self.masked}


# How many trailing letters or digits a masked value keeps: enough to tell two findings apart,
# too few to use. Cards keep their last four, as receipts print them.
KEPT_CHARACTERS = 2
KEPT_CARD_DIGITS = 4

_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])")
# A plus, a country code, then groups of digits (a group may be parenthesised): 8 to 15 digits
# in all, as E.164 allows.
_INTERNATIONAL_PHONE = re.compile(r"(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,5}\)?){1,6}(?!\d)")
# North American numbers with separators: (415) 555-0132, 415-555-0132, 415.555.0132,
# 1-800-555-0199. A bare run of ten digits is as likely an invoice number, so it is not one.
_US_PHONE = re.compile(r"(?<![\w+])(?:1[ .-])?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}(?![\w-])")
# Area 000, 666 and 900-999, group 00 and serial 0000 are never issued.
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])")
_LABELED_SSN = re.compile(r"(?i)\b(?:ssn|social security(?: number| no\.?)?)\s*[:#]?\s*((?!000|666|9\d\d)\d{3}(?!00)\d{2}(?!0000)\d{4})(?!\d)")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\d.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\.?\d)")
_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DATE = (
    r"(?:\d{4}-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01])"
    r"|(?:0?[1-9]|[12]\d|3[01])[/.-](?:0?[1-9]|[12]\d|3[01])[/.-](?:\d{4}|\d{2})"
    rf"|{_MONTH} (?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?,? \d{{4}}"
    rf"|(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)? (?:of )?{_MONTH},? \d{{4}})"
)
# A date is personal only where the text says whose birth it is; any other date is just a date.
_LABELED_BIRTH_DATE = re.compile(
    rf"(?i)\b(?:date of birth|birth ?date|d\.?o\.?b\.?|born(?: on)?)[\s:\"'=-]{{0,4}}({_DATE})(?![\w/.-]?\d)"
)

# A name is personal data, but a capitalised word is not a name: only a name the text labels as
# a person's (a field such as "Patient:" or a bare "Name:", not "Vendor name:"; or a title such as
# "Dr.") is flagged. Two to four words.
_NAME_WORDS = r"[A-Z][a-z'’-]+(?:[ \t]+(?:[A-Z]\.|[A-Z][a-z'’-]+)){1,3}"
_LABELED_NAME = re.compile(
    r"(?i:\b(?:patient|member|subscriber|insured|beneficiary|policy ?holder|guarantor|full|first and last|customer|employee)"
    r"[ _]?(?:name)?|(?<![A-Za-z][ _])\bname)[\"']?[ \t]*[:=][ \t]*[\"']?"
    rf"({_NAME_WORDS})"
)
_TITLED_NAME = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?[ \t]+({_NAME_WORDS})")
# Insurance and member ids have no common format or check digit: only a value the text labels so,
# with at least one digit in it (a word after "Member ID" is no id).
_LABELED_MEMBER_ID = re.compile(
    r"(?i)\b(?:member|subscriber|insurance|policy|medicare|medicaid|health plan|beneficiary)[ _]?"
    r"(?:id|identifier|number|no\.?|#)[\"']?[ \t]*[:=#]?[ \t]*[\"']?"
    r"((?=[A-Z0-9-]*\d)[A-Z0-9](?:[A-Z0-9-]{3,18})[A-Z0-9])(?![\w-])"
)
# An NPI is ten digits, the first 1 or 2, whose last is a Luhn check digit over "80840" and the
# first nine (the health-industry prefix); a random ten-digit number passes one time in ten, so
# only a number the text labels as an NPI is checked.
_LABELED_NPI = re.compile(r"(?i)\bNPI(?:[ _]?(?:number|no\.?|#))?[\"']?[ \t]*[:=#]?[ \t]*[\"']?([12]\d{9})(?!\d)")
NPI_PREFIX = "80840"

_IBAN_LENGTHS = range(15, 35)  # Norway's 15 to Saint Lucia's 32, with room for the longest allowed (34)
_PHONE_DIGITS = range(8, 16)  # E.164: at most 15 digits with the country code; fewer than 8 is no full number


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616: the country and check digits moved to the end, letters as 10-35, mod 97 is 1."""
    if len(iban) not in _IBAN_LENGTHS or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def npi_valid(npi: str) -> bool:
    """CMS's NPI check: ten digits, the first 1 or 2, Luhn-valid behind the 80840 prefix."""
    return len(npi) == 10 and npi.isdigit() and npi[0] in "12" and luhn_valid(NPI_PREFIX + npi)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _whole(pattern: re.Pattern[str], accept: Callable[[str], bool] = lambda _: True, group: int = 0) -> Callable[[str], Iterator[tuple[int, int]]]:
    def spans(text: str) -> Iterator[tuple[int, int]]:
        for match in pattern.finditer(text):
            if accept(match.group(group)):
                yield match.span(group)
    return spans


def _card(value: str) -> bool:
    digits = _digits(value)
    return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits)


def _iban(value: str) -> bool:
    return iban_valid(value.replace(" ", ""))


def _phone(value: str) -> bool:
    return len(_digits(value)) in _PHONE_DIGITS


# In order of trust: a span claimed by a check-digit number is not also read as a phone number.
_DETECTORS: tuple[tuple[PiiKind, Callable[[str], Iterator[tuple[int, int]]]], ...] = (
    (PiiKind.IBAN, _whole(_IBAN, _iban)),
    (PiiKind.PAYMENT_CARD, _whole(_CARD, _card)),
    (PiiKind.NPI, _whole(_LABELED_NPI, npi_valid, group=1)),
    (PiiKind.SSN, _whole(_SSN)),
    (PiiKind.SSN, _whole(_LABELED_SSN, group=1)),
    (PiiKind.EMAIL, _whole(_EMAIL)),
    (PiiKind.DATE_OF_BIRTH, _whole(_LABELED_BIRTH_DATE, group=1)),
    (PiiKind.MEMBER_ID, _whole(_LABELED_MEMBER_ID, group=1)),
    (PiiKind.PERSON_NAME, _whole(_LABELED_NAME, group=1)),
    (PiiKind.PERSON_NAME, _whole(_TITLED_NAME, group=1)),
    (PiiKind.IPV4, _whole(_IPV4)),
    (PiiKind.PHONE, _whole(_INTERNATIONAL_PHONE, _phone)),
    (PiiKind.PHONE, _whole(_US_PHONE)),
)


def find_pii(text: str) -> list[PiiFinding]:
    """Every piece of personal data found in `text`, in the order it appears; spans never overlap."""
    taken: list[tuple[int, int]] = []
    found: list[PiiFinding] = []
    for kind, spans in _DETECTORS:
        for start, end in spans(text):
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append(PiiFinding(kind, start, end, mask(text[start:end], kind)))
    return sorted(found, key=lambda f: f.start)


def mask(value: str, kind: PiiKind) -> str:
    """`value` with every letter and digit starred but the last few; separators stay, so the
    shape (an address, a dashed number) can still be read."""
    kept = KEPT_CARD_DIGITS if kind is PiiKind.PAYMENT_CARD else KEPT_CHARACTERS
    positions = [i for i, c in enumerate(value) if c.isalnum()]
    hidden = set(positions[:-kept] if len(positions) > kept * 2 else positions)
    return "".join("*" if i in hidden else c for i, c in enumerate(value))


def masked_text(text: str, findings: list[PiiFinding]) -> str:
    """`text` with each finding replaced by its masked form (same length, so spans still hold)."""
    for finding in findings:
        text = text[:finding.start] + finding.masked + text[finding.end:]
    return text
