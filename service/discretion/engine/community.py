"""Labels in the sharing communities' own forms, read as the engines' schemes before any rule reads a label.

A CSIRT or an ISAC labels its items as its tools do: MISP machine tags
(`tlp:amber+strict`, `tlp:ex:chr`, `PAP:RED`) and STIX 2.1 marking-definition
ids. An item label `{scheme: misp, value: <tag>}` or `{scheme: stix, value:
<id>}` is read here, without regard to case, as the label of the scheme an
agreement defines (`tlp`, `pap`, `attribution`), set by whoever set the tag
(a tag normally names no setter: then it is the source's, like any label; one
someone else added is a reading beside the source's, never in its place). What
the caller sent is kept, so an obligation to state the label states it in the
form the caller reads (`received_form`), as received only when it is the very
spelling of the value applied (a look-alike of `tlp:clear` read as RED is
stated as `tlp:red`).

Where a tag cannot be read, the most restrictive reading: an unknown `tlp:`
value is TLP:RED (the tlp scheme reads every unknown value so), `tlp:unclear`
says nobody knows the level and is RED too, and a tag of another namespace
(galaxies, workflow states) or a STIX marking that is not TLP is no sharing
label: it stays as received, no agreement defines its form, and the item is
denied naming it (decide._refuse_uninterpreted_labels). The native engine
holds the same tables (native/src/community.rs); a test holds them equal.
"""

from __future__ import annotations

import re

from .compiled import scheme_key
from .model import SOURCE_SETTERS, Instant, Label

MISP = "misp"
STIX = "stix"
FORMS = (MISP, STIX)

# `tlp:ex:chr`: the source of the information must not be disclosed. Read as
# the `attribution` scheme, which the Chatham House Rule defines, so the Rule's
# protection of the provider travels with the item whatever the group adopted.
WITHHELD = ("attribution", "withheld")

# STIX 2.1's TLP marking definitions: TLP 1.0's, predefined by the
# specification, and TLP 2.0's, of the OASIS extension
# extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d.
STIX_TLP = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",  # TLP 1.0 WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",  # TLP 1.0 GREEN
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",  # TLP 1.0 AMBER
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",  # TLP 1.0 RED
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear",  # TLP 2.0 CLEAR
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",  # TLP 2.0 GREEN
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber",  # TLP 2.0 AMBER
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",  # TLP 2.0 AMBER+STRICT
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red",  # TLP 2.0 RED
}
# A value written back in STIX form when no id the caller sent says it (a floor raised it): TLP 2.0's.
_STIX_OF_TLP = {value: marking for marking, value in list(STIX_TLP.items())[4:]}

# The MISP namespaces read as sharing labels, and the scheme each reads as.
_MISP_SCHEMES = {"tlp": "tlp", "pap": "pap"}

# FIRST's IEP 2.0: a policy is the `iep2-policy:<field>="<value>"` tags one setter put on an item (and, when tags
# of several policies reach one item, as a MISP event's and its attribute's do, those of one `policy` parameter),
# each field read on its own: `tlp` as the TLP label, `attribution` `must-not` (or a value nobody knows) as tlp:ex:chr, and the
# fields below as schemes the `iep2` agreement defines, whose rules every such label carries. The fields that only
# describe the policy set no terms and are set aside. `start_date` and `end_date` bound when the policy holds:
# outside them its tags are set aside and the group's own terms govern, never "no restriction" (read_labels).
IEP = "iep2-policy"
_IEP_SCHEMES = {"permitted_actions": "iep_permitted_actions", "unmodified_resale": "iep_unmodified_resale",
                "affected_party_notifications": "iep_affected_party_notifications",
                "encrypt_in_transit": "iep_encrypt_in_transit"}
# `attribution="must"`: the provider must be credited (`iep2`'s `attribution-must`, add_attribution).
ATTRIBUTION_MUST = ("iep_attribution", "must")
_IEP_DATES = ("start_date", "end_date")
# The field each scheme reads, to state a label back as the tag it came as.
_IEP_FIELD_OF = {"tlp": "tlp", ATTRIBUTION_MUST[0]: "attribution",
                 **{scheme: field for field, scheme in _IEP_SCHEMES.items()}}
# MISP's taxonomy: "`null` is used when the IEP policy never expires": an end after every instant (the native
# engine's Instant::MAX), so a null end beside a dated one is two ends, which contradict each other.
_NEVER = "null"
_NEVER_ENDS = Instant(2**127 - 1)
# (`external_reference` is not among the fields set aside: it names the licences and agreements between producer
# and receiver, terms nobody here can read, so its tag denies the item like any field no agreement reads.)
_IEP_DESCRIPTIVE = ("id", "name", "description", "iep_version")
# The `tlp:` tags of MISP's taxonomy that name a colour. Any other but `ex:chr` and `unclear` (a misspelling, a
# look-alike) could be either: it reads as RED and as withholding the source.
_TLP_COLOURS = ("red", "amber", "amber+strict", "green", "clear", "white")


def form_of(label: Label) -> str:
    """`misp` or `stix` when the label is in a community's form, else ""."""
    scheme = scheme_key(label.scheme)
    return scheme if scheme in FORMS else ""


def read(label: Label) -> Label:
    """The label as the engines' schemes read it; a label in no community form, or one that is no sharing label
    (left for the engine to refuse), as it is."""
    form = form_of(label)
    if not form:
        return label
    if form == STIX:
        # ASCII only: lowercase folds a Kelvin sign into `k`, and `marKing-definition--…` is no TLP marking.
        tlp = STIX_TLP.get(_text(label)) if label.value.isascii() else None
        return label if tlp is None else _as(label, "tlp", tlp)
    namespace, _, predicate = _text(label).partition(":")
    if namespace == IEP:
        field, said = _iep(predicate)
        if field == "tlp":
            return _as(label, "tlp", said)
        if field == "attribution":
            return _as(label, *ATTRIBUTION_MUST) if said == "must" else _as(label, *WITHHELD)
        scheme = _IEP_SCHEMES.get(field)
        return label if scheme is None else _as(label, scheme, said)
    if namespace == "tlp" and predicate == "ex:chr":
        return _as(label, *WITHHELD)
    if namespace == "tlp" and predicate == "unclear":
        return _as(label, "tlp", "red")
    scheme = _MISP_SCHEMES.get(namespace)
    return label if scheme is None else _as(label, scheme, predicate)


def _as(label: Label, scheme: str, value: str) -> Label:
    """The tag as a label of `scheme`, set by whoever set the tag, when they did."""
    return Label(scheme, value, set_by=label.set_by, set_at=label.set_at)


def _text(label: Label) -> str:
    """A tag or marking as it is matched: trimmed, without case."""
    return label.value.strip().lower()


def _spells(label: Label, form: str, scheme: str, value: str) -> bool:
    """Whether the tag or marking is the very spelling of `scheme: value` (in any case), not a reading of it."""
    text = _text(label)
    if not label.value.isascii():
        return False  # a look-alike is never stated as spelled
    if form == STIX:
        return scheme == "tlp" and STIX_TLP.get(text) == value
    namespace, _, predicate = text.partition(":")
    if namespace == IEP:
        field = _IEP_FIELD_OF.get(scheme)
        return field is not None and _iep(predicate) == (field, value)
    return text == f"{scheme}:{value}" and scheme in _MISP_SCHEMES


def read_labels(labels: tuple[Label, ...], requested_at: Instant) -> tuple[Label, ...]:
    """Each label as the schemes read it at `requested_at`, the tags that set no terms set aside, and so every tag
    of an IEP policy that does not hold then."""
    if not any(form_of(label) for label in labels):
        return labels
    holds = _iep_policies_holding(labels, requested_at)
    read_as = []
    for label in labels:
        field = _iep_field(label)
        if sets_no_terms(label) or (field is not None and holds.get(_policy(label)) is not None
                                    and (field in _IEP_DATES or not holds[_policy(label)])):
            continue
        read_as.append(read(label))
        if _unknown_tlp(label):
            read_as.append(_as(label, *WITHHELD))
    return tuple(read_as)


def _iep_policies_holding(labels: tuple[Label, ...], requested_at: Instant) -> dict[tuple[str, str], bool | None]:
    """Per policy, whether it holds at `requested_at`: True, False outside its dates, None when its
    dates cannot be read (a date not in RFC 3339, two start dates, an end not after the start). Then the date tags
    stay as received and deny the item (`refused`): applying a policy can loosen what the group's own terms say as
    much as setting it aside can, so neither is the restrictive reading of a date nobody can read."""
    bounds: dict[tuple[str, str], dict[str, set[Instant | None]]] = {}
    for label in labels:
        field = _iep_field(label)
        if field is not None:
            dates = bounds.setdefault(_policy(label), {name: set() for name in _IEP_DATES})
            said = _iep(_text(label).partition(":")[2])[1]
            if field in _IEP_DATES:
                dates[field].add(_NEVER_ENDS if (field, said) == ("end_date", _NEVER) else rfc3339(said))
    holds: dict[tuple[str, str], bool | None] = {}
    for policy, dates in bounds.items():
        if any(None in said or len(said) > 1 for said in dates.values()):
            holds[policy] = None
            continue
        start, end = (next(iter(dates[name]), None) for name in _IEP_DATES)
        if start is not None and end is not None and end <= start:
            holds[policy] = None
        else:
            holds[policy] = (start is None or start <= requested_at) and (end is None or requested_at < end)
    return holds


def _policy(label: Label) -> tuple[str, str]:
    """Which policy an IEP tag is part of: its setter's (the source's, whichever way it is written, or another's),
    and of those the one its `policy` parameter names, when tags of several reach one item."""
    setter = label.set_by.strip().lower()
    return ("" if setter in SOURCE_SETTERS else setter), label.params.get("policy", "").strip()


def _iep_field(label: Label) -> str | None:
    """The field an IEP tag sets (`tlp`, `start_date`, …), None for a label that is no IEP tag."""
    if form_of(label) != MISP:
        return None
    namespace, _, predicate = _text(label).partition(":")
    return _iep(predicate)[0] if namespace == IEP else None


# RFC 3339's date-time, as IEP 2.0's schema has its dates (`2026-01-01T00:00:00Z`): a zone is required, since
# without one the instant is not known, and a date alone names no instant either.
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})t(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(z|[+-]\d{2}:\d{2})",
                      re.ASCII)
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_SECOND = 1_000_000_000


def rfc3339(text: str) -> Instant | None:
    """The instant an RFC 3339 date-time (matched lowercased) names, in nanoseconds since the epoch; None when the
    text is no such date-time, or names a day, hour or offset that does not exist (a leap second included)."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match[i]) for i in range(1, 7))
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not (1 <= year and 1 <= month <= 12 and hour <= 23 and minute <= 59 and second <= 59):
        return None
    if not 1 <= day <= _DAYS_IN_MONTH[month - 1] + (month == 2 and leap):
        return None
    offset = 0
    if match[8] != "z":
        offset_hours, offset_minutes = int(match[8][1:3]), int(match[8][4:6])
        if offset_hours > 23 or offset_minutes > 59:
            return None
        offset = (offset_hours * 60 + offset_minutes) * (1 if match[8][0] == "+" else -1)
    seconds = _days_from_civil(year, month, day) * 86_400 + hour * 3600 + (minute - offset) * 60 + second
    return Instant(seconds * _SECOND + int((match[7] or "").ljust(9, "0")))


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def _unknown_tlp(label: Label) -> bool:
    """A `tlp:` tag that names no colour and is not `ex:chr` or `unclear`: a misspelt `tlp:ex:chr` among them."""
    namespace, _, predicate = _text(label).partition(":")
    return (form_of(label) == MISP and namespace == "tlp"
            and (not label.value.isascii() or predicate not in (*_TLP_COLOURS, "ex:chr", "unclear")))


def _iep(predicate: str) -> tuple[str, str]:
    """An IEP tag's field and value: `tlp="amber"` is (`tlp`, `amber`)."""
    field, _, said = predicate.partition("=")
    return field.strip(), said.strip().strip('"').strip()


def sets_no_terms(label: Label) -> bool:
    """A tag that only describes an IEP policy (its id, name, version…), or says attribution `may` be given."""
    if form_of(label) != MISP:
        return False
    namespace, _, predicate = _text(label).partition(":")
    field, said = _iep(predicate)
    return namespace == IEP and (field in _IEP_DESCRIPTIVE or (field, said) == ("attribution", "may"))


def received_form(labels: tuple[Label, ...], scheme: str, value: str, normalize) -> str | None:
    """How the item's own labels write `scheme: value` when it came in a community form: the first label that
    is its very spelling, as it was received; else, when a label of the scheme came in a form, the value written
    in that form (a look-alike or an unknown value read as RED is stated as RED). None when the value came in the
    engines' own form first (or no label of the scheme came in a form)."""
    written = None
    for label in labels:
        form, reading = form_of(label), read(label)
        if scheme_key(reading.scheme) != scheme:
            continue
        if not form:
            if normalize(reading.value) == value:
                return None
            continue
        if normalize(reading.value) == value and _spells(label, form, scheme, value):
            return label.value
        written = written or _write(form, scheme, value)
    return written


def _write(form: str, scheme: str, value: str) -> str | None:
    if form == STIX:
        return _STIX_OF_TLP.get(value) if scheme == "tlp" else None
    if scheme in _MISP_SCHEMES:
        return f"tlp:{value}" if scheme == "tlp" else f"PAP:{value.upper()}"
    field = _IEP_FIELD_OF.get(scheme)
    return None if field is None else f'{IEP}:{field}="{value}"'


def refused(label: Label) -> str:
    """Why a label in a community form is no sharing label, for the finding that denies its item."""
    if form_of(label) == STIX:
        return f"the STIX marking `{label.value}`, which is not one of TLP's"
    field = _iep_field(label)
    if field in _IEP_DATES:
        return (f"the MISP tag `{label.value}`, an IEP 2.0 policy's date that cannot be read (an RFC 3339 date-time "
                "with its zone, e.g. `2026-01-01T00:00:00Z`) or that another of the policy's dates contradicts")
    if field is not None:
        return f"the MISP tag `{label.value}` of an IEP 2.0 policy, whose field no loaded agreement reads"
    return f"the MISP tag `{label.value}`, of a namespace that sets no sharing terms (only `tlp:` and `PAP:` do)"

