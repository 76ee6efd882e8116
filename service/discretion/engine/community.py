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

from .compiled import scheme_key
from .model import Label

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

# FIRST's IEP 2.0: a policy is the `iep2-policy:<field>="<value>"` tags of one item, each read on its own. Read
# today: `tlp` (as the TLP label) and `attribution` (`must-not`, or a value nobody knows, as tlp:ex:chr). The
# fields that only describe the policy set no terms and are set aside. Any other field (permitted actions,
# resale, notifications, encryption, the dates the policy holds between, `attribution="must"`) no loaded
# agreement reads yet: its tag denies the item, the most restrictive reading.
IEP = "iep2-policy"
# (`external_reference` is not among them: it names the licences and agreements between producer and receiver.)
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
        if field == "attribution" and said not in ("may", "must"):
            return _as(label, *WITHHELD)
        return label
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
    return text == f"{scheme}:{value}" and scheme in _MISP_SCHEMES


def read_labels(labels: tuple[Label, ...]) -> tuple[Label, ...]:
    """Each label as the schemes read it, the tags that set no terms set aside."""
    if not any(form_of(label) for label in labels):
        return labels
    read_as = []
    for label in labels:
        if sets_no_terms(label):
            continue
        read_as.append(read(label))
        if _unknown_tlp(label):
            read_as.append(_as(label, *WITHHELD))
    return tuple(read_as)


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
    return f"tlp:{value}" if scheme == "tlp" else f"PAP:{value.upper()}" if scheme == "pap" else None


def refused(label: Label) -> str:
    """Why a label in a community form is no sharing label, for the finding that denies its item."""
    if form_of(label) == STIX:
        return f"the STIX marking `{label.value}`, which is not one of TLP's"
    if _text(label).partition(":")[0] == IEP:
        return f"the MISP tag `{label.value}` of an IEP 2.0 policy, whose field no loaded agreement reads yet"
    return f"the MISP tag `{label.value}`, of a namespace that sets no sharing terms (only `tlp:` and `PAP:` do)"

